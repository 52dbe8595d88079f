#pragma once
// When rill-core starts a background index checkpoint: once `every` events
// have been appended since the last one, and no sooner than `min_interval`
// after the last one started.
//
// Each background checkpoint forks the daemon (index_store.h). The fork
// copies the page tables of the whole index and every page the command
// thread writes afterwards takes a copy-on-write fault, so at a high
// command rate a count alone would fork every second or two (at 800k
// commands/s and every 1M events, a batched load ran 12% slower than with
// one fork per 10 s; bench/RESULTS.md, session 7). The interval bounds that
// cost; the count bounds the journal tail a restart replays when the rate
// is low.
//
// Header-only (tests use it). Thread-safety: none; the command thread owns it.
#include <chrono>
#include <cstdint>

namespace rill::daemon {

class checkpoint_policy {
 public:
  using clock = std::chrono::steady_clock;
  using now_fn = clock::time_point (*)();

  // every = 0: no background checkpoints. min_interval = 0: no time limit.
  checkpoint_policy(uint64_t every, std::chrono::milliseconds min_interval,
                    now_fn now = &clock::now)
      : every_(every), min_interval_(min_interval), now_(now) {}

  // True when a checkpoint should start now; `last_seq` is the seq of the
  // last one (0 = none yet). Reads the clock only once the count is reached.
  bool due(uint64_t head, uint64_t last_seq) const {
    if (every_ == 0 || head < last_seq + every_) return false;
    return !started_ || now_() - last_start_ >= min_interval_;
  }
  // Call when one was started.
  void started() {
    started_ = true;
    last_start_ = now_();
  }

 private:
  uint64_t every_;
  std::chrono::milliseconds min_interval_;
  now_fn now_;
  bool started_ = false;
  clock::time_point last_start_{};
};

}  // namespace rill::daemon
