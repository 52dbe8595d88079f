#pragma once
// split_apply: apply_ahead's job (apply stored events to one read model
// strictly in seq order, with prefetch hints a few events ahead) split over
// two threads. The caller's thread reads the source (record checksums) and
// passes over the kinds the model does not read; a worker thread owned by
// this object decodes, prefetches and applies.
//
// Only (seq, body) crosses between the threads, 24 bytes an event. Decoding
// on the caller's side was tried first and was slower: the worker then reads
// the decoded objects the other CPU has just written, several cache lines an
// event, and the caller's decode ran at half its one-thread speed.
//
// The bodies pushed must stay valid until the worker has applied them: up to
// slots - 1 further push() calls (the source's stable_bodies() + 1 bounds
// `slots`, as for apply_ahead). The threads hand over index counters every
// few slots, and sleep on a futex only after a short spin, so a busy
// rebuild makes no system calls.
//
// Events the model does not read (read_model::reads()) are not decoded and
// take no slot. An event that does not decode is counted (undecodable()) and
// skipped, as the projector does. An exception thrown by the model's apply()
// on the worker is rethrown by the next push() or flush() on the caller's
// thread; applied() then stays at the seq before the event that threw, and
// the remaining queued events are dropped.
//
// Ownership: borrows the model and the change set (both must outlive this;
// only the worker touches them while this object lives) and the bodies.
// Thread-safety: every public method belongs to one caller thread.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "readmodels/event_filter.h"
#include "readmodels/projector_decode.h"
#include "readmodels/read_model.h"

namespace rill::readmodels {

class split_apply {
 public:
  static constexpr size_t kMinSlots = 8;
  static constexpr size_t kDefaultSlots = 64;

  // slots >= kMinSlots (smaller values are raised to it).
  split_apply(read_model& model, change_set& changed, size_t slots = kDefaultSlots);
  ~split_apply();  // stops and joins the worker; events still queued may stay unapplied
  split_apply(const split_apply&) = delete;
  split_apply& operator=(const split_apply&) = delete;

  // Queues the event (seq above the previous one). Waits while the ring is
  // full. Rethrows the model's exception if an earlier apply() threw.
  void push(uint64_t seq, std::span<const char> body);
  // Returns once every pushed event is applied. Rethrows like push().
  void flush();

  // Seq through which every event pushed is applied (or skipped); 0 = none.
  uint64_t applied() const;
  // Events pushed (and read by the model) but not yet applied.
  size_t queued() const {
    return static_cast<size_t>(pushed_ - done_.load(std::memory_order_acquire));
  }
  uint64_t undecodable() const { return undecodable_.load(std::memory_order_relaxed); }
  uint64_t skipped() const { return skipped_; }

 private:
  struct handoff {  // written by the caller, read by the worker
    uint64_t seq;
    const char* body;
    size_t size;
  };
  struct slot {  // the worker's alone
    event_decoder decoder;
    event_view view;
    uint64_t seq = 0;
    bool ok = false;
  };
  static constexpr uint64_t kHandOver = 8;  // slots per counter update

  void publish();
  void wait_for_room();
  void rethrow_if_failed();
  void work();

  read_model& model_;
  change_set& changed_;
  event_filter filter_;
  std::vector<handoff> in_;
  std::vector<slot> ring_;  // same size as in_
  // The worker's scratch for decode()'s reason: undecodable events are
  // counted (undecodable()), not explained, as in apply_ahead.
  std::string why_;

  // Caller side.
  uint64_t pushed_ = 0;    // slots filled
  uint64_t last_seq_ = 0;  // last seq pushed, skipped ones included
  uint64_t skipped_ = 0;

  // Shared. Each counter only grows; its writer is named.
  alignas(64) std::atomic<uint64_t> published_{0};  // caller: slots the worker may read
  std::atomic<uint32_t> work_bell_{0};              // caller rings when the worker sleeps
  std::atomic<bool> worker_sleeping_{false};
  std::atomic<bool> stop_{false};
  alignas(64) std::atomic<uint64_t> done_{0};  // worker: slots applied (or dropped after a throw)
  std::atomic<uint64_t> applied_seq_{0};       // worker: seq of the last slot applied
  std::atomic<uint64_t> undecodable_{0};       // worker
  std::atomic<uint32_t> room_bell_{0};         // worker rings when the caller sleeps
  std::atomic<bool> caller_sleeping_{false};
  std::atomic<bool> failed_{false};  // worker: apply() threw; error_ is set
  std::exception_ptr error_;

  std::thread worker_;
};

}  // namespace rill::readmodels
