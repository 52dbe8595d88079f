#pragma once
// change_reporter: tells the notifier which keys of a read model changed.
// After each applied batch the runtime sends, per model that changed,
//
//   {"model": <name>, "keys": [<key>...], "seq": <last applied seq>,
//    "seqs": [<the seq that last changed each key>...]}
//
// on a PUSH socket connected to notify-in (PROTOCOL.md "Change notification";
// `seqs` lets the notifier stamp each key's note with its own cause although
// one report covers a whole batch). Keys are deduplicated per batch, each
// keeping the seq of its latest change. When a batch changed more than
// max_keys distinct keys (a catch-up, a rebuild), the report is sent as
// {"model", "keys": [], "seq", "all": true}: "the whole model changed",
// which a notifier delivers to every watcher of the model.
//
// The projector must never block on a notifier that is slow or down: the
// socket has a small send high-water mark and every send is dontwait; a
// report that does not fit is dropped and counted (watchers then learn of
// the change with the next report for that key).
//
// Ownership: owns its PUSH socket on the borrowed context. Thread-safety:
// none; created and used by the projector thread only.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <zmq.hpp>

#include "core/buffer.h"
#include "transport/handshake_watch.h"
#include "transport/security.h"

namespace rill::readmodels {

struct change_reporter_options {
  std::string endpoint;    // notify-in; empty = reporting disabled
  size_t max_keys = 1000;  // distinct keys per report before it becomes "all"
  int send_hwm = 1000;     // reports queued for the notifier before dropping
};

// The keys one model changed during the current batch, each with the seq
// of its latest change.
class change_batch {
 public:
  explicit change_batch(size_t max_keys) : max_keys_(max_keys) {}
  void add(std::string_view key, uint64_t seq) {
    if (all_) return;
    const absl::string_view k(key.data(), key.size());  // Debian's absl has its own string_view
    auto it = keys_.find(k);
    if (it != keys_.end()) {
      it->second = std::max(it->second, seq);
      return;
    }
    if (keys_.size() >= max_keys_) {
      all_ = true;
      keys_.clear();
      return;
    }
    keys_.emplace(k, seq);
  }
  void mark_all() {
    all_ = true;
    keys_.clear();
  }
  bool empty() const { return !all_ && keys_.empty(); }
  bool all() const { return all_; }
  const absl::flat_hash_map<std::string, uint64_t>& keys() const { return keys_; }
  void clear() {
    all_ = false;
    keys_.clear();
  }

 private:
  size_t max_keys_;
  bool all_ = false;
  absl::flat_hash_map<std::string, uint64_t> keys_;
};

class change_reporter {
 public:
  change_reporter(zmq::context_t& ctx, change_reporter_options opt,
                  const transport::client_security* sec = nullptr);

  bool enabled() const { return enabled_; }
  const change_reporter_options& options() const { return opt_; }

  // Sends the report for `model` (no-op when the batch is empty or reporting
  // is disabled) and clears the batch. Never blocks.
  void report(std::string_view model, change_batch& batch, uint64_t seq);

  // Connects again after notify-in refused our CURVE key (the projector
  // calls it when idle; see transport/handshake_watch.h).
  void tend(std::chrono::steady_clock::time_point now) {
    if (watch_) watch_->tend(now);
  }

  uint64_t sent() const { return sent_; }
  uint64_t dropped() const { return dropped_; }

 private:
  change_reporter_options opt_;
  bool enabled_;
  zmq::socket_t socket_;
  std::unique_ptr<transport::handshake_watch> watch_;
  out_buffer buf_;
  // Scratch of report() (views into the batch, only while it runs).
  std::vector<std::pair<std::string_view, uint64_t>> entries_;
  std::vector<std::string_view> keys_;
  std::vector<uint64_t> seqs_;
  uint64_t sent_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace rill::readmodels
