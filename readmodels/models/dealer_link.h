#pragma once
// dealer_link: the DEALER socket a saga talks to a service with (rill-core's
// command ROUTER, the rates REP), created lazily on first use so that it
// belongs to the thread that ticks the saga (STYLE.md rule 4).
//
// Wire: every request is [empty delimiter, body]; that is what a REP socket
// needs, and a rill ROUTER accepts it and mirrors it. A reply is accepted when
// it has 1 or 2 frames with the body last (more frames, or a non-empty first
// of two, is dropped: never trust a peer).
//
// Never blocks and never throws: sends use ZMQ_DONTWAIT (false = the request
// was not queued), receives return false when nothing is waiting, and any
// ZeroMQ error is caught here, logged once, and reported as false. reset()
// closes the socket (the Lazy Pirate pattern): requests still queued and late
// replies are dropped, and the next send reconnects.
//
// Borrows the context, which must outlive it. Thread-safety: not thread-safe;
// one thread.
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <zmq.hpp>

#include "transport/security.h"

namespace rill::readmodels {

class dealer_link {
 public:
  // `keys`: our CURVE keys for a tcp:// endpoint (required there: a
  // tcp:// endpoint is never used unencrypted; null is fine for ipc://).
  dealer_link(zmq::context_t& ctx, std::string endpoint, std::string peer_name,
              std::shared_ptr<const transport::client_security> keys = nullptr);
  dealer_link(const dealer_link&) = delete;
  dealer_link& operator=(const dealer_link&) = delete;

  [[nodiscard]] bool send(std::span<const char> body);
  [[nodiscard]] bool receive(zmq::message_t& body);
  void reset();
  const std::string& endpoint() const { return endpoint_; }

 private:
  bool open();
  zmq::context_t& ctx_;
  std::string endpoint_;
  std::string peer_;
  std::shared_ptr<const transport::client_security> keys_;
  std::optional<zmq::socket_t> socket_;
  bool open_failed_logged_ = false;
};

}  // namespace rill::readmodels
