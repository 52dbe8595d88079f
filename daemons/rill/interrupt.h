#pragma once
// interrupt_fd: Ctrl-C / SIGTERM as a file descriptor, so that a command
// that waits on ZeroMQ sockets (watch, tail, rebuild) can poll for it
// together with its sockets (zmq::poll accepts raw fds) and stop cleanly.
//
// Create it before any zmq::context_t: the signals are blocked in the
// calling thread and threads created later inherit the mask, so no I/O
// thread can take the default action. The destructor restores the mask.
//
// Thread-safety: not thread-safe; one per thread.
#include <signal.h>

namespace rill::cli {

class interrupt_fd {
 public:
  interrupt_fd();
  ~interrupt_fd();
  interrupt_fd(const interrupt_fd&) = delete;
  interrupt_fd& operator=(const interrupt_fd&) = delete;

  int fd() const { return fd_; }
  // True once SIGINT/SIGTERM/SIGHUP arrived (reads the pending signals).
  bool fired();

 private:
  int fd_ = -1;
  bool fired_ = false;
  sigset_t old_{};
};

}  // namespace rill::cli
