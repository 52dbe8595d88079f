#pragma once
// runtime_feed: the receive thread of rill-proj. It owns the SUB socket on
// the event feed and moves each event body into a bounded lock-free queue
// (moodycamel::ConcurrentQueue, single producer, single consumer). It never
// blocks on the projector: when the queue is full the event is dropped and
// counted; the projector sees the gap in seq and reads the missing events
// from the journal (or the replay endpoint).
//
// The feed is subscribed before the projector catches up (the clone
// pattern): events published during the catch-up wait in the queue and are
// dropped by the projector if already applied.
//
// Ownership: owns its thread and (inside it) the SUB socket; borrows the
// context and the doorbell, which must outlive it. Thread-safety: start(),
// stop() from the owner thread; drain() from the one consumer thread;
// counters from any thread.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>
#include <zmq.hpp>

#include "readmodels/runtime_doorbell.h"
#include "transport/security.h"

namespace rill::readmodels {

struct feed_options {
  std::string endpoint;                     // the events endpoint (SUB connects)
  size_t queue_capacity = 65536;            // events held for the projector; more are dropped
  int rcvhwm = 100'000;                     // messages libzmq buffers before the PUB side drops
  std::chrono::milliseconds stop_poll{50};  // how often the thread checks for stop
};

class feed_receiver {
 public:
  feed_receiver(zmq::context_t& ctx, feed_options opt, doorbell& bell,
                const transport::client_security* sec = nullptr);
  ~feed_receiver();
  feed_receiver(const feed_receiver&) = delete;
  feed_receiver& operator=(const feed_receiver&) = delete;

  // Starts the thread; returns once the SUB socket is connected and subscribed.
  void start();
  // Stops and joins the thread. Idempotent.
  void stop();

  // Subscribes to (true, the start state) or unsubscribes from (false) the
  // whole feed; the receive thread applies it within stop_poll. A projector
  // woken by the journal's bell needs no feed (runtime_bell_watch.h), and an
  // unsubscribed SUB costs neither rill-core nor this process a thing per
  // event. Thread-safe.
  void set_subscribed(bool on) { want_subscribed_.store(on, std::memory_order_relaxed); }
  bool subscribed() const { return subscribed_.load(std::memory_order_relaxed); }

  // Moves up to `max` queued event bodies into `out` (appended). Consumer only.
  size_t drain(std::vector<zmq::message_t>& out, size_t max);
  // True when events are queued (exact for the single consumer).
  bool pending() const {
    return enqueued_.load(std::memory_order_seq_cst) != dequeued_.load(std::memory_order_relaxed);
  }

  uint64_t received() const { return received_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t malformed() const { return malformed_.load(std::memory_order_relaxed); }

 private:
  void run(std::atomic<bool>* ready);

  zmq::context_t& ctx_;
  feed_options opt_;
  doorbell& bell_;
  const transport::client_security* sec_;
  moodycamel::ConcurrentQueue<zmq::message_t> queue_;
  moodycamel::ConsumerToken consumer_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> want_subscribed_{true}, subscribed_{false};
  std::thread thread_;
  std::atomic<uint64_t> enqueued_{0}, dequeued_{0};
  std::atomic<uint64_t> received_{0}, dropped_{0}, malformed_{0};
};

}  // namespace rill::readmodels
