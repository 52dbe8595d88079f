#pragma once
// revenue_book: every customer's revenue in the base currency, kept from the
// events (ORDER_CREATED, EXCHANGE_RATE_SET), for the models that rank or rate
// customers by revenue (top_customers, customer_analysis).
//
// Rules (docs/domain.md "Revenue"):
// - an order counts once its rate is known: amount * rate;
// - an order in the base currency counts at rate 1 at once;
// - EXCHANGE_RATE_SET replaces the order's rate (the latest one wins); a rate
//   quoted in another base than the book's is ignored;
// - currencies compare case-insensitively (three ASCII letters).
// Customers get a dense index in the order the book first hears of them, so a
// model can keep its own per-customer data in vectors beside the book's.
//
// Ownership: owns its state. Thread-safety: none.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "core/event.h"
#include "core/string_hash.h"
#include "readmodels/models/snapshot_reader.h"
#include "readmodels/read_model.h"

namespace rill::readmodels {

class revenue_book {
 public:
  explicit revenue_book(std::string base) : base_(std::move(base)) {}

  // The index of customer `id`, added with revenue 0 if new.
  uint32_t customer(std::string_view id);
  std::optional<uint32_t> find_customer(std::string_view id) const;
  const std::string& customer_id(uint32_t c) const { return ids_[c]; }
  double revenue(uint32_t c) const { return revenue_[c]; }
  size_t customers() const { return ids_.size(); }

  struct change {
    uint32_t customer = 0;
    double before = 0, after = 0;
  };
  // Applies ORDER_CREATED / EXCHANGE_RATE_SET (other events are ignored).
  // True when a customer's revenue changed; `c` then says whose and how.
  bool apply(const event_view& e, change& c);
  // Prefetches the hash-table slots apply(e) will probe (read_model::prefetch).
  void prefetch(const event_view& e) const;

  void save(packer& pk) const;
  // Reads what save() wrote; failures are reported through r.
  void load(snapshot_reader& r);

 private:
  struct order {
    uint32_t customer = 0;
    double amount = 0;
    double rate = 0;
    bool counted = false;  // rate known (amount * rate is in the revenue)
  };
  bool on_order(const event_view& e, change& c);
  bool on_rate(const event_view& e, change& c);

  std::string base_;
  std::vector<std::string> ids_;
  std::vector<double> revenue_;
  absl::flat_hash_map<std::string, uint32_t, string_hash, string_eq> index_;
  absl::flat_hash_map<std::string, order, string_hash, string_eq> orders_;
};

}  // namespace rill::readmodels
