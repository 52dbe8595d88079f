#pragma once
// exchange_rates: the exchange-rate saga (DOMAIN.md). On ORDER_CREATED in a
// currency other than the base it asks the rates service for the rate and
// sends SET_EXCHANGE_RATE {rate, base} for that order, idempotency key
// "fx:<order id>:<seq of ORDER_CREATED>", with ":<base>" appended when the
// base is not kDefaultBase (a change of base must not be answered dup).
//
// Order states: base (in the base currency, nothing to do), waiting (for the
// rates service), sending (rate known, command to send), sent (rill-core
// acknowledged it), done (EXCHANGE_RATE_SET in the base currency applied),
// failed (given up: no such rate, or rill-core refused the command).
// Lookups are shared: one request per currency at a time answers every
// order waiting for it. A failed attempt (timeout, service down, overloaded)
// is retried with capped exponential backoff per order; other orders go on.
//
// Queries:
//   get     {id} -> {id, currency, state, attempts, rate?, error?}
//   pending {}   -> array of order ids not yet done (waiting, sending, sent),
//                   in seq order
// Change keys: the order id.
//
// Settings: base, rates_timeout_ms, rates_max_in_flight, and saga_options.
// Snapshot: states, rates, attempts and errors; timers and requests in
// flight are not saved: after load unfinished orders are due at once.
// Ownership: owns its state and (lazily, in tick) its zmq context and
// sockets. Thread-safety: none (read_model / saga contract).
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <zmq.hpp>

#include "core/string_hash.h"
#include "readmodels/models/command_channel.h"
#include "readmodels/models/due_queue.h"
#include "readmodels/models/rates_channel.h"
#include "readmodels/models/saga_options.h"
#include "readmodels/saga.h"

namespace rill::readmodels {

class exchange_rates_model final : public saga {
 public:
  static constexpr std::string_view kDefaultBase = "EUR";
  struct options {
    std::string base{kDefaultBase};
    std::string rates_endpoint;
    std::chrono::milliseconds rates_timeout{1000};
    size_t rates_max_in_flight = 16;
    saga_options saga;
  };
  static options parse(const model_config& cfg);
  explicit exchange_rates_model(options opts);
  ~exchange_rates_model() override;

  std::string_view name() const override { return "exchange_rates"; }
  void apply(const event_view& e, change_set& changed) override;
  std::span<const event_kind> reads() const override;
  void prefetch(const event_view& e) const override;
  errc query(std::string_view q, const msgpack::object& args, packer& result,
             std::string& message) const override;
  void save(out_buffer& out) const override;
  [[nodiscard]] bool load(std::span<const char> bytes, std::string& error) override;
  std::unique_ptr<read_model> clone_empty() const override;
  saga* as_saga() override { return opts_.saga.enabled ? this : nullptr; }
  void tick(const saga_context& ctx, change_set& changed) override;
  bool busy() const override;
  uint64_t pending() const override { return pending_.size(); }  // waiting, sending, sent

 private:
  enum class status : uint8_t { base, waiting, sending, sent, done, failed };
  struct order {
    std::string id, currency;  // currency normalized (upper case)
    uint64_t seq = 0;          // of ORDER_CREATED: part of the command key
    status st = status::waiting;
    double rate = 0;
    uint32_t attempts = 0;
    std::string error;
    // Runtime only.
    uint64_t req = 0;        // SET_EXCHANGE_RATE in flight
    bool in_lookup = false;  // counted on the rate lookup in flight
  };
  using time_point = std::chrono::steady_clock::time_point;

  void set_status(uint32_t idx, status st);
  void reindex();  // rebuilds the runtime indexes from orders_
  bool ensure_io();
  void on_answer(const rates_channel::answer& a, time_point now, change_set& changed);
  void on_reply(const command_channel::reply& r, time_point now, change_set& changed);
  void fail_attempt(uint32_t idx, std::string error, time_point now);
  void give_up(uint32_t idx, std::string error);
  void dispatch(time_point now);
  bool send_command(uint32_t idx, time_point now);
  static std::string_view status_name(status st);

  options opts_;
  // Snapshotted state.
  std::vector<order> orders_;  // seq order
  absl::flat_hash_map<std::string, uint32_t, string_hash, string_eq> index_;
  // Runtime indexes (rebuilt by reindex()).
  std::set<uint32_t> pending_;  // waiting, sending, sent
  absl::flat_hash_map<std::string, absl::flat_hash_set<uint32_t>> waiting_;  // by currency
  absl::flat_hash_set<std::string> lookups_;                                 // currencies asked for
  due_queue due_;
  absl::flat_hash_map<uint64_t, uint32_t> req_owner_;
  bool rates_down_ = false;  // for logging transitions once
  // I/O, created by the first tick.
  std::unique_ptr<zmq::context_t> zmq_;
  std::optional<rates_channel> rates_;
  std::optional<command_channel> commands_;
  std::vector<rates_channel::answer> answers_;
  std::vector<command_channel::reply> replies_;
};

}  // namespace rill::readmodels
