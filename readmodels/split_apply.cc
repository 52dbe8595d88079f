#include "readmodels/split_apply.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "store/cpu_relax.h"
#include "store/futex.h"

namespace rill::readmodels {
namespace {

// Spin this many rounds (a few microseconds) before sleeping on the futex:
// in a rebuild the other side usually hands over within that time.
constexpr int kSpinRounds = 2'000;
// Safety net: a sleeper re-checks at least this often.
constexpr auto kMaxSleep = std::chrono::milliseconds(1);

// Waits until ready() holds: spins, then sleeps on `bell` after announcing
// it in `sleeping` (the waker checks `sleeping` after publishing; seq_cst on
// both sides means one of the two sees the other).
template <class Ready>
void wait_until(Ready ready, std::atomic<uint32_t>& bell, std::atomic<bool>& sleeping) {
  for (int i = 0; i < kSpinRounds; ++i) {
    if (ready()) return;
    cpu_relax();
  }
  while (!ready()) {
    const uint32_t b = bell.load(std::memory_order_seq_cst);
    sleeping.store(true, std::memory_order_seq_cst);
    if (!ready()) store::futex_wait(bell, b, kMaxSleep);
    sleeping.store(false, std::memory_order_relaxed);
  }
}

void ring(std::atomic<uint32_t>& bell, std::atomic<bool>& sleeping) {
  if (sleeping.load(std::memory_order_seq_cst)) {
    bell.fetch_add(1, std::memory_order_seq_cst);
    store::futex_wake_all(bell);
  }
}

}  // namespace

split_apply::split_apply(read_model& model, change_set& changed, size_t slots)
    : model_(model),
      changed_(changed),
      filter_(model),
      in_(std::max(slots, kMinSlots)),
      ring_(in_.size()) {
  worker_ = std::thread([this] { work(); });
}

split_apply::~split_apply() {
  stop_.store(true, std::memory_order_seq_cst);
  work_bell_.fetch_add(1, std::memory_order_seq_cst);
  store::futex_wake_all(work_bell_);
  worker_.join();
}

uint64_t split_apply::applied() const {
  // Everything pushed is applied: the skipped events after the last slot too.
  if (done_.load(std::memory_order_acquire) == pushed_ && !failed_.load(std::memory_order_acquire))
    return last_seq_;
  return applied_seq_.load(std::memory_order_acquire);
}

void split_apply::rethrow_if_failed() {
  if (failed_.load(std::memory_order_acquire)) std::rethrow_exception(error_);
}

void split_apply::publish() {
  published_.store(pushed_, std::memory_order_seq_cst);
  ring(work_bell_, worker_sleeping_);
}

void split_apply::wait_for_room() {
  const uint64_t n = ring_.size();
  if (pushed_ - done_.load(std::memory_order_acquire) < n) return;
  publish();  // the worker may be waiting for the slots held back
  wait_until([&] { return pushed_ - done_.load(std::memory_order_seq_cst) < n; }, room_bell_,
             caller_sleeping_);
}

void split_apply::push(uint64_t seq, std::span<const char> body) {
  rethrow_if_failed();
  if (event_kind_head kind; filter_.skips(body, kind)) {
    ++skipped_;
    last_seq_ = seq;
    return;
  }
  wait_for_room();
  in_[pushed_ % ring_.size()] = handoff{seq, body.data(), body.size()};
  ++pushed_;
  last_seq_ = seq;
  if (pushed_ - published_.load(std::memory_order_relaxed) >= kHandOver) publish();
}

void split_apply::flush() {
  publish();
  wait_until([&] { return done_.load(std::memory_order_seq_cst) == pushed_; }, room_bell_,
             caller_sleeping_);
  rethrow_if_failed();
}

void split_apply::work() {
  const uint64_t n = ring_.size();
  // Slots are decoded and hinted this many ahead of the one applied (as
  // apply_ahead).
  const uint64_t ahead = std::min<uint64_t>(8, n - 1);
  uint64_t next = 0, hinted = 0, avail = 0;
  bool failed = false;
  for (;;) {
    if (stop_.load(std::memory_order_relaxed)) return;
    if (next == avail) {
      done_.store(next, std::memory_order_seq_cst);
      ring(room_bell_, caller_sleeping_);
      wait_until(
          [&] {
            return published_.load(std::memory_order_seq_cst) != next ||
                   stop_.load(std::memory_order_relaxed);
          },
          work_bell_, worker_sleeping_);
      if (stop_.load(std::memory_order_relaxed)) return;
      avail = published_.load(std::memory_order_acquire);
    }
    const uint64_t hint_end = std::min(avail, next + ahead);
    for (; hinted < hint_end; ++hinted) {
      slot& h = ring_[hinted % n];
      const handoff& in = in_[hinted % n];
      h.seq = in.seq;
      h.ok = h.decoder.decode({in.body, in.size}, h.view, why_) == errc::ok;
      if (h.ok && !failed) model_.prefetch(h.view);
    }
    slot& s = ring_[next % n];
    if (!failed) {
      if (s.ok) {
        try {
          model_.apply(s.view, changed_);
          applied_seq_.store(s.seq, std::memory_order_release);
        } catch (...) {
          // The caller sees failed_ and rethrows; the rest is drained unapplied
          // so that the caller never waits for room.
          error_ = std::current_exception();
          failed_.store(true, std::memory_order_release);
          failed = true;
        }
      } else {
        undecodable_.fetch_add(1, std::memory_order_relaxed);
        applied_seq_.store(s.seq, std::memory_order_release);
      }
    }
    ++next;
    if (next % kHandOver == 0) {
      done_.store(next, std::memory_order_seq_cst);  // seq_cst: see wait_until
      ring(room_bell_, caller_sleeping_);
    }
  }
}

}  // namespace rill::readmodels
