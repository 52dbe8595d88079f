#pragma once
// runtime_doorbell: wakes the projector thread when it sleeps in zmq::poll.
// An eventfd (pollable next to the query sockets) plus an "armed" flag, so
// that the receive thread writes to the eventfd only when the projector is
// actually about to sleep, not once per event.
//
// Protocol (a Dekker-style handshake, all seq_cst):
//   projector: arm(); re-check its inputs; if none: poll(fd); then clear().
//   producer:  publish its input (e.g. bump a counter); ring().
// Either the projector's re-check sees the input, or ring() sees the flag
// armed and writes the eventfd.
//
// Ownership: owns the eventfd. Thread-safety: ring(), ring_always() are
// thread-safe and async-signal-safe; arm()/clear() belong to the sleeper.
#include <atomic>

namespace rill::readmodels {

class doorbell {
 public:
  // Throws std::system_error if no eventfd can be created (startup only).
  doorbell();
  ~doorbell();
  doorbell(const doorbell&) = delete;
  doorbell& operator=(const doorbell&) = delete;

  int fd() const { return fd_; }
  void arm() { armed_.store(true, std::memory_order_seq_cst); }
  // Disarms and drains the eventfd.
  void clear();
  // Wakes the sleeper if it is armed.
  void ring() {
    if (armed_.load(std::memory_order_seq_cst) && armed_.exchange(false)) ring_always();
  }
  // Wakes the sleeper whatever its state (stop requests).
  void ring_always();

 private:
  int fd_ = -1;
  std::atomic<bool> armed_{false};
};

}  // namespace rill::readmodels
