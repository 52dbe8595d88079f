#pragma once
// Observers of a `rill load` run, each on its own thread with its own socket:
//
//   feed_watcher  (--visible) a SUB socket on the event feed. Commands sent
//                 with --visible carry corr "<run tag>:<intended send ns>";
//                 for each such event it records now - that stamp: command
//                 -> event visible to subscribers. PUB/SUB may drop under
//                 load; `received` says how many events it saw.
//   after_probe   (--after-model NAME) asks the model, one query at a time,
//                 for `status` with `after` = the newest acknowledged seq,
//                 and records now - that command's send time when it
//                 answers: command -> read model has applied it (a sample,
//                 not every command).
//
// Ownership: borrow the context and shared state, which must outlive them.
// Thread-safety: start()/finish() from the owning thread; the results only
// after finish().
#include <atomic>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "daemons/rill/load_histogram.h"
#include "daemons/rill/load_worker.h"

namespace rill::cli {

class feed_watcher {
 public:
  feed_watcher(zmq::context_t& ctx, std::string events_ep, std::string run_tag);
  ~feed_watcher() { finish(); }
  // Connects and subscribes; returns once the subscription is likely in
  // place (PUB/SUB has no handshake: a short settle time).
  void start();
  // Stops after `linger_ms` more of quiet or once `expected` events arrived.
  void finish(uint64_t expected = 0, int linger_ms = 0);
  const latency_histogram& latency() const { return hist_; }
  uint64_t received() const { return received_; }

 private:
  void loop();
  zmq::context_t& ctx_;
  std::string ep_, prefix_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> expected_{0};
  std::atomic<int64_t> stop_after_ns_{0};
  latency_histogram hist_;
  uint64_t received_ = 0;
};

class after_probe {
 public:
  after_probe(zmq::context_t& ctx, std::string model_ep, std::string model, worker_shared& shared);
  ~after_probe() { finish(); }
  void start();
  void finish();
  const latency_histogram& latency() const { return hist_; }
  uint64_t timeouts() const { return timeouts_; }
  uint64_t errors() const { return errors_; }

 private:
  void loop();
  zmq::context_t& ctx_;
  std::string ep_, model_;
  worker_shared& shared_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  latency_histogram hist_;
  uint64_t timeouts_ = 0, errors_ = 0;
};

}  // namespace rill::cli
