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
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/string_hash.h"
#include "core/string_pool.h"
#include "readmodels/models/record_index.h"
#include "readmodels/read_model.h"

namespace rill::readmodels {

class orders_model final : public read_model {
 public:
  struct options {
    std::string base = "EUR";
  };
  static options parse(const nlohmann::json& settings);
  explicit orders_model(options opts) : opts_(std::move(opts)), st_(std::make_unique<state>()) {}

  std::string_view name() const override { return "orders"; }
  void apply(const event_view& e, change_set& changed) override;
  std::span<const event_kind> reads() const override;
  void prefetch(const event_view& e) const override;
  errc query(std::string_view q, const msgpack::object& args, packer& result,
             std::string& message) const override;
  void save(out_buffer& out) const override;
  [[nodiscard]] bool load(std::span<const char> bytes, std::string& error) override;
  std::unique_ptr<read_model> clone_empty() const override;

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  // Ids and currencies live in state::strings (each id stored once, also
  // serving as its index key), so records are small and trivially copyable.
  struct order {
    std::string_view id, currency;  // currency as given
    uint32_t customer = 0;
    uint32_t prev = kNone;  // the customer's previous order (index into state::orders)
    double amount = 0, rate = 0;
    bool has_rate = false;
  };
  // A customer's orders are a list threaded through state::orders from the
  // newest back (last / prev), not a vector per customer: appending one
  // allocates nothing and writes only the new order and its customer (a
  // forward link would also write the customer's previous order, a random
  // cache miss in every ORDER_CREATED of a rebuild).
  struct customer {
    std::string_view id;
    std::string name;
    bool has_name = false;
    uint32_t last = kNone, count = 0;
  };
  // The indexes hold positions in the vectors (record_index.h: 8 bytes a
  // slot); a state never moves, it lives behind a unique_ptr.
  struct state {
    state() = default;
    state(const state&) = delete;  // the indexes point at the vectors
    state& operator=(const state&) = delete;
    string_pool strings;        // every id and currency below points here
    std::vector<order> orders;  // seq order
    record_index<order> order_index = make_record_index(orders);
    std::vector<customer> customers;
    record_index<customer> customer_index = make_record_index(customers);
  };
  static uint32_t customer_of(state& st, std::string_view id);
  static void link_order(state& st, uint32_t idx);
  void on_order(const event_view& e, change_set& changed);
  void on_rate(const event_view& e, change_set& changed);
  void pack_order(packer& pk, const order& o) const;

  options opts_;
  std::unique_ptr<state> st_;
};

}  // namespace rill::readmodels
