#pragma once
// top_customers: customers ranked by revenue in the base currency (DOMAIN.md).
// Keeps the customers' names from CUSTOMER_CREATED / CUSTOMER_UPDATED and
// their revenue in a revenue_book (an order counts once its rate is known;
// base-currency orders at rate 1 at once).
//
// Queries:
//   top {n} -> array of {id, name, revenue}, revenue descending, ties by id
//              ascending; every known customer takes part (revenue 0 too);
//              n may not exceed max_n (10000)
// Change keys: the customer id whose revenue or name changed.
//
// Settings: base (EUR), max_n (10000).
// Ownership: owns its state. Thread-safety: none (read_model contract).
#include <set>
#include <string>
#include <vector>

#include "readmodels/models/revenue_book.h"
#include "readmodels/read_model.h"

namespace rill::readmodels {

class top_customers_model final : public read_model {
 public:
  struct options {
    std::string base = "EUR";
    uint64_t max_n = 10000;
  };
  static options parse(const nlohmann::json& settings);
  explicit top_customers_model(options opts) : opts_(std::move(opts)), st_(opts_.base) {}

  std::string_view name() const override { return "top_customers"; }
  void apply(const event_view& e, change_set& changed) override;
  std::span<const event_kind> reads() const override;
  void prefetch(const event_view& e) const override;
  errc query(std::string_view q, const msgpack::object& args, packer& result,
             std::string& message) const override;
  void save(out_buffer& out) const override;
  [[nodiscard]] bool load(std::span<const char> bytes, std::string& error) override;
  std::unique_ptr<read_model> clone_empty() const override;

 private:
  // Ranking order: revenue descending, then id ascending.
  struct rank_key {
    double revenue;
    std::string id;
    bool operator<(const rank_key& o) const {
      return revenue != o.revenue ? revenue > o.revenue : id < o.id;
    }
  };
  struct state {
    explicit state(const std::string& base) : book(base) {}
    revenue_book book;
    std::vector<std::string> names;  // by book index
    std::set<rank_key> ranking;
  };
  // Gives customers the book added since the last call a name slot and a rank.
  static void sync_new(state& st);

  options opts_;
  state st_;
};

}  // namespace rill::readmodels
