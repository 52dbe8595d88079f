#pragma once
// read_model: the interface a projection implements. The runtime (rill-proj)
// feeds it events strictly in seq order, answers queries with it, snapshots
// it, and rebuilds it from seq 1 on request. Users implement this interface
// for their own models (docs/read-models.md has a worked example).
//
// Contract:
// - apply() is deterministic: the state after applying events 1..n is the
//   same whether they came from the feed, the journal, a snapshot + tail or a
//   rebuild. No I/O, no clock, no randomness in apply().
// - A model never queries another model: whatever it needs from other
//   aggregates it keeps itself, from the events.
// - save() writes the whole state; load() restores it from bytes written by
//   save() of the same model (the runtime adds the seq, length and checksum
//   around them, and checks them before calling load()).
//
// Thread-safety: none. The runtime calls every method from its projector
// thread only (a rebuild builds a separate instance on another thread, never
// touching this one).
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/buffer.h"
#include "core/error.h"
#include "core/event.h"
#include "core/msgpack.h"

namespace rill::transport {
struct client_security;
}

namespace rill::readmodels {

using packer = msgpack::packer<out_buffer>;

// Keys whose query answers changed while applying events, reported to the
// notifier as {model, keys, seq}. A model adds e.g. the aggregate id it changed.
class change_set {
 public:
  // record = false: add() does nothing (a rebuild reports one whole-model
  // change at the swap, not a key per event).
  explicit change_set(bool record = true) : record_(record) {}
  void add(std::string_view key) {
    if (record_) keys_.emplace_back(key);
  }
  // False during a rebuild: a model may skip work done only to list keys.
  bool records() const { return record_; }
  const std::vector<std::string>& keys() const { return keys_; }
  void clear() { keys_.clear(); }
  bool empty() const { return keys_.empty(); }

 private:
  std::vector<std::string> keys_;
  bool record_ = true;
};

// Per-model configuration: the daemon's data dir and endpoints, plus the
// model's own settings from the config file (thresholds, base currency, ...).
struct model_config {
  std::string data_dir;            // D
  std::string command_endpoint;    // for sagas: where to send commands
  std::string rates_endpoint;      // for the exchange-rate saga
  // Our CURVE keys for tcp:// endpoints (sagas); null when none were given,
  // and then a saga refuses a tcp:// endpoint (never used unencrypted).
  std::shared_ptr<const transport::client_security> client_keys;
  nlohmann::json settings = nlohmann::json::object();  // model-specific options
};

// A kind of event: its aggregate type and event type.
struct event_kind {
  std::string_view agg, type;
};

class saga;

class read_model {
 public:
  virtual ~read_model() = default;
  virtual std::string_view name() const = 0;
  // Applies one event (seq = last applied + 1). Adds changed keys to `changed`.
  virtual void apply(const event_view& e, change_set& changed) = 0;
  // A hint that `e` will be applied soon, after the events before it: the
  // model may prefetch the memory apply(e) will touch (e.g. the hash-table
  // slots of its ids), so that cache misses of several events overlap. Must
  // not change the state or any answer; the default does nothing. Called by
  // rebuilds and journal catch-up, a few events ahead (apply_ahead.h).
  virtual void prefetch(const event_view& e) const { (void)e; }
  // The kinds of event apply() reacts to; empty (the default) = any event.
  // A model that lists kinds promises that apply() ignores every other event
  // entirely (no state change, no changed key, no side effect), whatever its
  // data. Rebuilds, catch-up and the live path then skip those events
  // without decoding them (event_filter.h), which is most of the work when a
  // model reads a few kinds out of many. The list must stay the same for the
  // model's life and be the same for its clone_empty(); the views must stay
  // valid as long as the model.
  virtual std::span<const event_kind> reads() const { return {}; }
  // Answers query `q` with `args` (a map; empty map when absent). On ok the
  // result value has been packed into `result` (exactly one value). On error
  // returns the code (bad_request, not_found, unknown_query) and a message;
  // whatever was packed is discarded by the caller.
  virtual errc query(std::string_view q, const msgpack::object& args, packer& result,
                     std::string& message) const = 0;
  // Snapshot support.
  virtual void save(out_buffer& out) const = 0;
  [[nodiscard]] virtual bool load(std::span<const char> bytes, std::string& error) = 0;
  // A new, empty instance with the same configuration (for rebuild).
  virtual std::unique_ptr<read_model> clone_empty() const = 0;
  // Non-null for models that are sagas.
  virtual saga* as_saga() { return nullptr; }
};

}  // namespace rill::readmodels
