#include "transport/handshake_watch.h"

#include <atomic>
#include <cstdint>
#include <cstring>

#include <spdlog/spdlog.h>

#include "transport/security.h"

namespace rill::transport {
namespace {

constexpr int kRefusedEvents = ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
constexpr int kWatchedEvents = kRefusedEvents | ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
constexpr std::chrono::seconds kMaxBackoff{30};

std::string unique_monitor_address() {
  static std::atomic<uint64_t> next{0};
  return "inproc://rill-handshake-watch-" + std::to_string(next.fetch_add(1));
}

}  // namespace

handshake_watch::handshake_watch(zmq::context_t& ctx, zmq::socket_t& socket, std::string endpoint,
                                 std::string what)
    : socket_(socket), endpoint_(std::move(endpoint)), what_(std::move(what)) {
  if (!is_tcp(endpoint_)) return;
  monitor_address_ = unique_monitor_address();
  if (zmq_socket_monitor(socket_.handle(), monitor_address_.c_str(), kWatchedEvents) != 0) {
    spdlog::warn("{} at {}: cannot watch its handshakes ({})", what_, endpoint_,
                 zmq_strerror(zmq_errno()));
    return;
  }
  zmq::socket_t m(ctx, zmq::socket_type::pair);
  m.set(zmq::sockopt::linger, 0);
  m.connect(monitor_address_);
  monitor_.emplace(std::move(m));
}

handshake_watch::~handshake_watch() {
  if (!monitor_) return;
  zmq_socket_monitor(socket_.handle(), nullptr, 0);  // stops the monitor
}

bool handshake_watch::tend(clock::time_point now) {
  if (!monitor_) return false;
  // Each event is two frames: [u16 event, u32 value] and the endpoint.
  zmq::message_t head, address;
  try {
    while (monitor_->recv(head, zmq::recv_flags::dontwait)) {
      if (head.more()) (void)monitor_->recv(address, zmq::recv_flags::none);
      uint16_t event = 0;
      if (head.size() >= sizeof event) std::memcpy(&event, head.data(), sizeof event);
      if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        if (backoff_.count() > 0) spdlog::info("{} at {} accepted our key", what_, endpoint_);
        backoff_ = std::chrono::seconds(0);
        continue;
      }
      if ((event & kRefusedEvents) == 0) continue;
      ++refusals_;
      if (reconnect_at_) continue;  // one refusal per back-off is enough
      backoff_ =
          backoff_.count() == 0 ? std::chrono::seconds(1) : std::min(kMaxBackoff, backoff_ * 2);
      reconnect_at_ = now + backoff_;
      spdlog::warn(
          "{} at {} refused our CURVE handshake ({}; is our public key on its allow-list?); "
          "connecting again in {} s",
          what_, endpoint_,
          event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "authentication" : "protocol",
          backoff_.count());
    }
  } catch (const zmq::error_t&) {
    return false;
  }
  if (!reconnect_at_ || now < *reconnect_at_) return false;
  reconnect_at_.reset();
  try {
    // libzmq ended this endpoint's session; disconnect may find nothing.
    try {
      socket_.disconnect(endpoint_);
    } catch (const zmq::error_t&) {
    }
    socket_.connect(endpoint_);
  } catch (const zmq::error_t& e) {
    spdlog::warn("{} at {}: cannot connect again: {}", what_, endpoint_, e.what());
    return false;
  }
  return true;
}

}  // namespace rill::transport
