#pragma once
// handshake_watch: reconnects a client socket whose CURVE handshake with a
// tcp:// server was refused.
//
// libzmq gives an endpoint up for good after a refused handshake (a ZAP
// "400": our key is not on the server's allow-list): the session ends and
// the socket never connects there again, even once the server allows the
// key. A rill-proj whose key was added to rill-notify's list after a first
// refusal dropped every change report until it was restarted, silently (an
// outside probe). This watches the socket's monitor for failed handshakes,
// logs them, and connects the socket again after a back-off of 1, 2, 4 ...
// 30 s.
//
// A no-op for endpoints other than tcp:// (no CURVE there). Borrows the
// context and the socket, which must outlive it. Thread-safety: none; used
// by the thread that owns the socket.
#include <chrono>
#include <optional>
#include <string>

#include <zmq.hpp>

namespace rill::transport {

class handshake_watch {
 public:
  using clock = std::chrono::steady_clock;
  // `what` names the peer in the log (e.g. "the event feed").
  handshake_watch(zmq::context_t& ctx, zmq::socket_t& socket, std::string endpoint,
                  std::string what);
  ~handshake_watch();
  handshake_watch(const handshake_watch&) = delete;
  handshake_watch& operator=(const handshake_watch&) = delete;

  // Call now and then from the socket's thread: reads the monitor, and
  // connects the socket again once the back-off after a refusal is over.
  // Returns true when it reconnected.
  bool tend(clock::time_point now = clock::now());
  // Handshakes refused so far.
  uint64_t refusals() const { return refusals_; }

 private:
  zmq::socket_t& socket_;
  std::string endpoint_, what_, monitor_address_;
  std::optional<zmq::socket_t> monitor_;
  uint64_t refusals_ = 0;
  std::chrono::seconds backoff_{0};
  std::optional<clock::time_point> reconnect_at_;
};

}  // namespace rill::transport
