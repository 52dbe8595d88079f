#pragma once
// runtime: the projection runtime that rill-proj wraps (DESIGN.md
// "rill-proj"). It hosts one or more read models (and sagas) in one process:
//
//   events (SUB) -> receive thread -> bounded queue -> projector thread -> models
//   journal (read-only mapping) or replay endpoint --------^   |-> queries (ROUTER per model)
//                                                              |-> change reports (PUSH)
//                                                              '-> snapshots (writer thread)
//
// See readmodels/projector.h for the apply/catch-up rules and
// docs/read-models.md for the whole story.
//
// Ownership: owns the ZeroMQ context, the models, every thread and socket.
// Thread-safety: construct on any thread; run() on the thread that becomes
// the projector thread (it creates the sockets); stop() and ready() from any
// thread (stop() is also async-signal-safe).
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "readmodels/read_model.h"
#include "readmodels/runtime_doorbell.h"
#include "readmodels/runtime_options.h"

namespace rill::readmodels {

class runtime {
 public:
  // Validates the options and the models (non-empty, unique names).
  // Throws std::invalid_argument. Opens nothing yet.
  runtime(runtime_options opt, std::vector<std::unique_ptr<read_model>> models);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // Runs until stop(): binds the query endpoints, loads snapshots, follows
  // the feed and the journal. On stop it writes the final snapshots and
  // returns 0; it returns 1 when it could not start (a bind failed, a key
  // file is bad) or stopped on a fatal error (logged). Call once.
  int run();

  // Asks run() to return. Thread-safe, async-signal-safe, idempotent.
  void stop();

  // True once the query endpoints are bound. Thread-safe.
  bool ready() const { return ready_.load(std::memory_order_acquire); }

  // The options with every endpoint resolved.
  const runtime_options& options() const { return opt_; }

  // Whether run() reads the journal directly (true) or the replay endpoint.
  bool local_source() const;

 private:
  runtime_options opt_;
  std::vector<std::unique_ptr<read_model>> models_;
  zmq::context_t ctx_;
  doorbell bell_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  bool ran_ = false;
};

}  // namespace rill::readmodels
