#pragma once
// rebuild_job: rebuilds one read model from seq 1 on a background thread,
// into a fresh instance (read_model::clone_empty()), reading stored events
// from its own event source, while the live instance keeps answering
// queries on the projector thread.
//
// The thread applies events until its source has nothing more AND it has
// reached `target` (the live instance's applied seq, published by the
// projector). It then reports ready; the projector takes the instance,
// applies to it whatever the live one applied since, and swaps them.
//
// Ownership: owns the thread(s), the fresh instance (until take()) and the
// thread's event source. Thread-safety: every public method is called from
// the projector thread; the counters are atomics read by it.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "readmodels/event_source.h"
#include "readmodels/read_model.h"

namespace rill::readmodels {

class rebuild_job {
 public:
  enum class state : uint8_t { running, ready, failed };

  // Starts the thread at once. `target` is read by the thread; the
  // projector keeps it at the live instance's applied seq. threads: 1 = one
  // thread reads, decodes and applies (apply_ahead); 2 = a second thread
  // decodes and applies while the first reads (split_apply), when the
  // source keeps enough bodies valid (the journal does; replay does not).
  rebuild_job(std::unique_ptr<read_model> fresh, event_source_factory source,
              const std::atomic<uint64_t>& target, unsigned threads = 1);
  ~rebuild_job();  // cancels and joins
  rebuild_job(const rebuild_job&) = delete;
  rebuild_job& operator=(const rebuild_job&) = delete;

  state poll() const { return state_.load(std::memory_order_acquire); }
  // Seq the fresh instance has applied so far, and the source head it saw.
  uint64_t progress() const { return applied_.load(std::memory_order_relaxed); }
  uint64_t head() const { return head_.load(std::memory_order_relaxed); }
  uint64_t events() const { return events_.load(std::memory_order_relaxed); }

  // After ready: joins the thread and hands over the instance and its seq.
  std::unique_ptr<read_model> take(uint64_t& applied);
  // After failed: why.
  std::string error() const;

 private:
  void run();
  template <class Applier>
  void drive(Applier& ahead, event_source& src);  // run()'s loop
  void fail(std::string why);

  std::unique_ptr<read_model> fresh_;
  event_source_factory factory_;
  const std::atomic<uint64_t>& target_;
  const unsigned threads_;
  std::atomic<bool> cancel_{false};
  std::atomic<state> state_{state::running};
  std::atomic<uint64_t> applied_{0}, head_{0}, events_{0};
  mutable std::mutex error_mu_;
  std::string error_;
  std::thread thread_;
};

}  // namespace rill::readmodels
