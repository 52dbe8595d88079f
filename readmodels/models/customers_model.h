#pragma once
// customers: the "edit customer 23" view (DOMAIN.md). Projects the CUSTOMER_*
// events into one record per customer, in creation (seq) order.
//
// Queries:
//   get  {id}              -> {id, name, email, country, classification, version}
//                             (country / classification nil when unknown);
//                             not_found for an unknown id
//   list {offset?, limit?} -> array of the same maps in creation order;
//                             limit defaults to list_default_limit (100) and
//                             may not exceed list_max_limit (10000)
// Change keys: the customer id.
//
// Settings: list_default_limit, list_max_limit (config/default.json).
// Ownership: owns its state. Thread-safety: none (read_model contract).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/string_hash.h"
#include "readmodels/models/record_index.h"
#include "readmodels/read_model.h"

namespace rill::readmodels {

class customers_model final : public read_model {
 public:
  struct options {
    uint64_t list_default_limit = 100;
    uint64_t list_max_limit = 10000;
  };
  // Throws std::invalid_argument for invalid settings.
  static options parse(const nlohmann::json& settings);
  explicit customers_model(options opts) : opts_(opts), st_(std::make_unique<state>()) {}

  std::string_view name() const override { return "customers"; }
  void apply(const event_view& e, change_set& changed) override;
  std::span<const event_kind> reads() const override;
  void prefetch(const event_view& e) const override;
  errc query(std::string_view q, const msgpack::object& args, packer& result,
             std::string& message) const override;
  void save(out_buffer& out) const override;
  [[nodiscard]] bool load(std::span<const char> bytes, std::string& error) override;
  std::unique_ptr<read_model> clone_empty() const override;

 private:
  struct customer {
    std::string id, name, email, country;
    bool has_country = false;
    char classification = 0;  // 'A' 'B' 'C', or 0 = none yet
    uint64_t version = 0;
  };
  // The index holds positions in `list` (record_index.h: 8 bytes a slot);
  // a state never moves, it lives behind a unique_ptr.
  struct state {
    state() = default;
    state(const state&) = delete;  // the index points at `list`
    state& operator=(const state&) = delete;
    std::vector<customer> list;  // creation order
    record_index<customer> index = make_record_index(list);
  };
  static void pack_customer(packer& pk, const customer& c);
  customer* find(std::string_view id);

  options opts_;
  std::unique_ptr<state> st_;
};

}  // namespace rill::readmodels
