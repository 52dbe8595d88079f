#include "readmodels/models/dealer_link.h"

#include <spdlog/spdlog.h>

namespace rill::readmodels {
namespace {

// A saga keeps at most a few hundred requests in flight; the high-water marks
// only have to be larger than that.
constexpr int hwm = 100'000;
// Frames in one reply we accept ([delimiter,] body).
constexpr size_t max_frames = 2;

}  // namespace

dealer_link::dealer_link(zmq::context_t& ctx, std::string endpoint, std::string peer_name,
                         std::shared_ptr<const transport::client_security> keys)
    : ctx_(ctx),
      endpoint_(std::move(endpoint)),
      peer_(std::move(peer_name)),
      keys_(std::move(keys)) {}

bool dealer_link::open() {
  if (socket_) return true;
  try {
    zmq::socket_t s(ctx_, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::sndhwm, hwm);
    s.set(zmq::sockopt::rcvhwm, hwm);
    transport::apply_client_security(s, endpoint_, keys_.get());
    s.connect(endpoint_);
    socket_.emplace(std::move(s));
    open_failed_logged_ = false;
    return true;
  } catch (const std::exception& e) {  // zmq::error_t, or a tcp:// endpoint without keys
    if (!open_failed_logged_) {
      spdlog::error("cannot connect to {} at {}: {}", peer_, endpoint_, e.what());
      open_failed_logged_ = true;
    }
    return false;
  }
}

bool dealer_link::send(std::span<const char> body) {
  if (!open()) return false;
  try {
    if (!socket_->send(zmq::message_t(), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      return false;
    // Once the first frame is queued ZeroMQ queues the rest of the message.
    return socket_->send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::dontwait)
        .has_value();
  } catch (const zmq::error_t& e) {
    spdlog::warn("sending to {} failed: {}", peer_, e.what());
    reset();
    return false;
  }
}

bool dealer_link::receive(zmq::message_t& body) {
  if (!socket_) return false;
  try {
    while (true) {
      zmq::message_t frames[max_frames];
      size_t n = 0;
      bool more = true;
      bool overflow = false;
      while (more) {
        zmq::message_t part;
        if (!socket_->recv(part, zmq::recv_flags::dontwait)) {
          if (n == 0) return false;
          break;  // cannot happen: parts of a message arrive together
        }
        more = part.more();
        if (n < max_frames) {
          frames[n++] = std::move(part);
        } else {
          overflow = true;
        }
      }
      if (overflow || n == 0 || (n == 2 && frames[0].size() != 0)) {
        spdlog::debug("dropping a malformed reply from {}", peer_);
        continue;
      }
      body = std::move(frames[n - 1]);
      return true;
    }
  } catch (const zmq::error_t& e) {
    spdlog::warn("receiving from {} failed: {}", peer_, e.what());
    reset();
    return false;
  }
}

void dealer_link::reset() {
  socket_.reset();
}

}  // namespace rill::readmodels
