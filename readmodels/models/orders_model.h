#pragma once
// orders: every order with its customer's name and its amount in the base
// currency (DOMAIN.md). Keeps the customers' names itself, from the customer
// events (it never asks another model).
//
// Queries:
//   get         {id}          -> {id, customer_id, customer_name, amount, currency,
//                                 rate, amount_base}; rate / amount_base absent
//                                 until the rate has arrived (base-currency
//                                 orders: rate 1 at once); not_found if unknown
//   by_customer {customer_id, offset?, limit?}
//                             -> array of those maps in seq order (empty for a
//                                customer without orders); all of them unless
//                                offset / limit say otherwise
// The latest EXCHANGE_RATE_SET quoted in the base currency wins; rates quoted
// in another base are ignored. customer_name is the customer's current name
// (nil if the customer is unknown).
// Change keys: the order id and its customer id; a renamed customer's id.
//
// Settings: base (EUR).
// Ownership: owns its state. Thread-safety: none (read_model contract).
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "core/string_hash.h"
#include "readmodels/read_model.h"

namespace rill::readmodels {

class orders_model final : public read_model {
 public:
  struct options {
    std::string base = "EUR";
  };
  static options parse(const nlohmann::json& settings);
  explicit orders_model(options opts) : opts_(std::move(opts)) {}

  std::string_view name() const override { return "orders"; }
  void apply(const event_view& e, change_set& changed) override;
  errc query(std::string_view q, const msgpack::object& args, packer& result,
             std::string& message) const override;
  void save(out_buffer& out) const override;
  [[nodiscard]] bool load(std::span<const char> bytes, std::string& error) override;
  std::unique_ptr<read_model> clone_empty() const override;

 private:
  struct order {
    std::string id, currency;
    uint32_t customer = 0;
    double amount = 0, rate = 0;
    bool has_rate = false;
  };
  struct customer {
    std::string id, name;
    bool has_name = false;
    std::vector<uint32_t> orders;  // indexes into state::orders, seq order
  };
  struct state {
    std::vector<order> orders;  // seq order
    absl::flat_hash_map<std::string, uint32_t, string_hash, string_eq> order_index;
    std::vector<customer> customers;
    absl::flat_hash_map<std::string, uint32_t, string_hash, string_eq> customer_index;
  };
  static uint32_t customer_of(state& st, std::string_view id);
  void on_order(const event_view& e, change_set& changed);
  void on_rate(const event_view& e, change_set& changed);
  void pack_order(packer& pk, const order& o) const;

  options opts_;
  state st_;
};

}  // namespace rill::readmodels
