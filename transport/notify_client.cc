#include "transport/notify_client.h"

#include <algorithm>

#include "transport/notifier_protocol.h"

namespace rill::transport {

namespace {

using namespace std::chrono_literals;

std::chrono::milliseconds left_until(notify_client::clock::time_point t,
                                     notify_client::clock::time_point now) {
  if (t <= now) return 0ms;
  return std::chrono::ceil<std::chrono::milliseconds>(t - now);
}

}  // namespace

notify_client::notify_client(zmq::context_t& ctx, std::string endpoint,
                             const notify_client_options& opt, const client_security* sec)
    : ctx_(ctx),
      endpoint_(std::move(endpoint)),
      opt_(opt),
      sec_(sec),
      interval_(std::max(opt.heartbeat, std::chrono::milliseconds(1))) {
  connect();
}

void notify_client::connect() {
  socket_.reset();
  socket_.emplace(ctx_, zmq::socket_type::dealer);
  socket_->set(zmq::sockopt::linger, 0);
  socket_->set(zmq::sockopt::rcvhwm, std::max(opt_.receive_hwm, 1));
  apply_client_security(*socket_, endpoint_, sec_);
  socket_->connect(endpoint_);
}

uint64_t notify_client::send_request(notify::op o, std::optional<std::string_view> model,
                                     std::optional<std::string_view> key) {
  const uint64_t req = next_req_++;
  out_.clear();
  notify::encode_request(out_, o, model, key, req);
  try {
    // A full pipe (the notifier unreachable for long) loses the request; the
    // caller's timeout and the heartbeat recover from that.
    (void)socket_->send(zmq::const_buffer(out_.data(), out_.size()), zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
  }
  return req;
}

void notify_client::push_note(note n) {
  if (pending_.size() >= opt_.max_pending) {
    pending_.clear();
    push_resyncs();
    return;
  }
  pending_.push_back(std::move(n));
}

void notify_client::push_resyncs() {
  for (const auto& [model, key] : watches_) pending_.push_back(note{model, key, 0, true});
}

void notify_client::start_rewatch() {
  registered_ = false;
  for (const auto& [model, key] : watches_) {
    (void)send_request(notify::op::watch, model,
                       key ? std::optional<std::string_view>(*key) : std::nullopt);
  }
  marker_req_ = send_request(notify::op::ping, std::nullopt, std::nullopt);
  ping_req_ = marker_req_;
  ping_sent_ = last_ping_ = clock::now();
}

std::optional<errc> notify_client::handle(std::span<const char> bytes, uint64_t awaited) {
  notify::server_message m;
  std::string why;
  if (notify::decode_server_message(bytes, m, why) != errc::ok) {
    ++bad_messages_;
    return std::nullopt;
  }
  if (m.is_note) {
    push_note(note{std::string(m.model),
                   m.key ? std::optional<std::string>(std::string(*m.key)) : std::nullopt, m.seq,
                   false});
    return std::nullopt;
  }
  if (m.expiry_ms && *m.expiry_ms > 0) {
    interval_ = std::clamp(std::chrono::milliseconds(*m.expiry_ms / 3),
                           std::chrono::milliseconds(1), std::max(opt_.heartbeat, 1ms));
  }
  const uint64_t req = m.req.value_or(0);
  const bool forgotten = m.known.has_value() && !*m.known;
  if (req != 0 && req == ping_req_) ping_req_ = 0;
  if (req != 0 && req == marker_req_) {
    marker_req_ = 0;
    if (m.ok && !forgotten) {  // every watch sent before it is registered
      registered_ = true;
      ++recoveries_;
      push_resyncs();
    }
  } else if (forgotten && marker_req_ == 0 && !watches_.empty() &&
             (registered_ || m.op_name == notify::kOpPing)) {
    // The notifier lost this connection's watches (or never got them).
    start_rewatch();
  }
  if (awaited == 0 || req != awaited) return std::nullopt;
  if (m.ok) {
    if (m.op_name == notify::kOpWatch) registered_ = true;
    return errc::ok;
  }
  return m.error == errc::count_ ? errc::bad_request : m.error;
}

std::optional<errc> notify_client::pump(std::chrono::milliseconds wait, uint64_t awaited) {
  zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
  try {
    if (zmq::poll(&item, 1, wait) <= 0) return std::nullopt;
  } catch (const zmq::error_t&) {
    return std::nullopt;  // EINTR
  }
  zmq::message_t msg;
  for (;;) {
    try {
      if (!socket_->recv(msg, zmq::recv_flags::dontwait)) return std::nullopt;
      if (msg.more()) {  // the notifier sends one frame; anything else is junk
        zmq::message_t part;
        while (msg.more() && socket_->recv(part, zmq::recv_flags::none)) msg.swap(part);
        ++bad_messages_;
        continue;
      }
    } catch (const zmq::error_t&) {
      return std::nullopt;
    }
    auto r = handle({static_cast<const char*>(msg.data()), msg.size()}, awaited);
    if (r) return r;
  }
}

void notify_client::probe(uint64_t req) {
  if (ping_req_ != 0) return;
  ping_req_ = req;  // its reply proves the connection like a ping's would
  ping_sent_ = clock::now();
}

void notify_client::maintain(clock::time_point now) {
  if (ping_req_ != 0) {
    if (now - ping_sent_ < opt_.reply_timeout) return;
    // No answer: assume the connection is dead and start over on a new one.
    connect();
    ping_req_ = 0;
    marker_req_ = 0;
    registered_ = false;
    if (!watches_.empty()) start_rewatch();
    return;
  }
  if (!watches_.empty() && now - last_ping_ >= interval_) {
    ping_req_ = send_request(notify::op::ping, std::nullopt, std::nullopt);
    ping_sent_ = last_ping_ = now;
  }
}

std::chrono::milliseconds notify_client::until_maintenance(clock::time_point now) const {
  if (ping_req_ != 0) return left_until(ping_sent_ + opt_.reply_timeout, now);
  if (!watches_.empty()) return left_until(last_ping_ + interval_, now);
  return std::chrono::milliseconds(60'000);
}

std::optional<errc> notify_client::await(uint64_t req, std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  const uint64_t recoveries = recoveries_;
  for (;;) {
    const auto now = clock::now();
    maintain(now);
    if (recoveries_ != recoveries) return std::nullopt;
    const auto wait = std::min(left_until(deadline, now), until_maintenance(now));
    if (auto r = pump(wait, req)) return r;
    if (recoveries_ != recoveries) return std::nullopt;
    if (clock::now() >= deadline) return std::nullopt;
  }
}

errc notify_client::watch(std::string_view model, std::optional<std::string_view> key,
                          std::chrono::milliseconds timeout) {
  watch_entry entry{std::string(model),
                    key ? std::optional<std::string>(std::string(*key)) : std::nullopt};
  const bool had = watches_.contains(entry);
  if (!had) {
    if (watches_.empty()) last_ping_ = clock::now();  // heartbeats start now
    watches_.insert(entry);
  }
  const uint64_t recoveries = recoveries_;
  const uint64_t req = send_request(notify::op::watch, model, key);
  probe(req);
  auto r = await(req, timeout);
  if (!r) {
    // A recovery re-sent every watch, this one included, and it was answered.
    return recoveries_ != recoveries && watches_.contains(entry) ? errc::ok : errc::timeout;
  }
  if (*r != errc::ok && !had) watches_.erase(entry);
  return *r;
}

errc notify_client::unwatch(std::string_view model, std::optional<std::string_view> key,
                            std::chrono::milliseconds timeout) {
  watch_entry entry{std::string(model),
                    key ? std::optional<std::string>(std::string(*key)) : std::nullopt};
  watches_.erase(entry);
  // Without watches the client stops pinging and the notifier will forget it.
  if (watches_.empty()) registered_ = false;
  const uint64_t req = send_request(notify::op::unwatch, model, key);
  probe(req);
  auto r = await(req, timeout);
  return r ? *r : errc::timeout;
}

std::optional<note> notify_client::next_note(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  for (;;) {
    const auto now = clock::now();
    maintain(now);
    if (pending_.empty()) (void)pump(0ms, 0);
    if (!pending_.empty()) {
      note n = std::move(pending_.front());
      pending_.pop_front();
      return n;
    }
    if (now >= deadline) return std::nullopt;
    (void)pump(std::min(left_until(deadline, now), until_maintenance(now)), 0);
  }
}

}  // namespace rill::transport
