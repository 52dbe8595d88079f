#include "transport/client.h"

#include <poll.h>

#include <msgpack.hpp>

#include "transport/json_msgpack.h"

namespace rill::transport {
namespace {

std::optional<msgpack::object_handle> unpack(std::span<const char> bytes) {
  try {
    return msgpack::unpack(bytes.data(), bytes.size());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

const msgpack::object* map_get(const msgpack::object& m, std::string_view key) {
  if (m.type != msgpack::type::MAP) return nullptr;
  for (uint32_t i = 0; i < m.via.map.size; ++i) {
    const auto& kv = m.via.map.ptr[i];
    if (kv.key.type == msgpack::type::STR &&
        std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key)
      return &kv.val;
  }
  return nullptr;
}

bool wait_readable(zmq::socket_t& s, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  try {
    return zmq::poll(&item, 1, timeout) > 0;
  } catch (const zmq::error_t&) {
    return false;
  }
}

// True once `s` has a message to read, false when `until` passed first.
// ZMQ_FD only signals "look at ZMQ_EVENTS again" (edge-triggered), so the
// events are re-read after every wake-up.
bool wait_readable_until(zmq::socket_t& s, std::chrono::steady_clock::time_point until) {
  try {
    const int fd = s.get(zmq::sockopt::fd);
    for (;;) {
      if (s.get(zmq::sockopt::events) & ZMQ_POLLIN) return true;
      const auto left = until - std::chrono::steady_clock::now();
      if (left <= std::chrono::nanoseconds(0)) return false;
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
      pollfd p{fd, POLLIN, 0};
      if (::ppoll(&p, 1, &ts, nullptr) < 0 && errno != EINTR) return false;
    }
  } catch (const zmq::error_t&) {
    return false;
  }
}

}  // namespace

uint64_t event_seq(std::span<const char> body) {
  auto oh = unpack(body);
  if (!oh) return 0;
  auto* s = map_get(oh->get(), "seq");
  return s && s->type == msgpack::type::POSITIVE_INTEGER ? s->via.u64 : 0;
}

std::string event_topic(std::span<const char> body) {
  auto oh = unpack(body);
  if (!oh) return {};
  auto* a = map_get(oh->get(), "agg");
  auto* t = map_get(oh->get(), "type");
  if (!a || !t || a->type != msgpack::type::STR || t->type != msgpack::type::STR) return {};
  return std::string(a->via.str.ptr, a->via.str.size) + "/" +
         std::string(t->via.str.ptr, t->via.str.size);
}

// ---------------------------------------------------------------- rpc_client

rpc_client::rpc_client(zmq::context_t& ctx, const std::string& endpoint,
                       const client_security* sec)
    : socket_(ctx, zmq::socket_type::dealer) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::sndhwm, 100'000);
  socket_.set(zmq::sockopt::rcvhwm, 100'000);
  apply_client_security(socket_, endpoint, sec);
  socket_.connect(endpoint);
}

bool rpc_client::send(std::span<const char> body) {
  try {
    return socket_.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none)
        .has_value();
  } catch (const zmq::error_t&) {
    return false;
  }
}

std::optional<zmq::message_t> rpc_client::receive(std::chrono::milliseconds timeout) {
  if (!wait_readable(socket_, timeout)) return std::nullopt;
  zmq::message_t body;
  try {
    if (!socket_.recv(body, zmq::recv_flags::dontwait)) return std::nullopt;
    while (body.more()) {  // a well-behaved server sends one frame; keep the last
      zmq::message_t next;
      (void)socket_.recv(next, zmq::recv_flags::none);
      body = std::move(next);
    }
  } catch (const zmq::error_t&) {
    return std::nullopt;
  }
  return body;
}

std::optional<nlohmann::json> rpc_client::call(nlohmann::json request,
                                               std::chrono::milliseconds timeout) {
  if (!request.is_object()) return std::nullopt;
  if (!request.contains("req")) request["req"] = next_req_++;
  const nlohmann::json req = request["req"];
  auto bytes = nlohmann::json::to_msgpack(request);
  if (!send({reinterpret_cast<const char*>(bytes.data()), bytes.size()})) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return std::nullopt;
    auto msg = receive(left);
    if (!msg) return std::nullopt;
    auto reply = msgpack_to_json({static_cast<const char*>(msg->data()), msg->size()});
    if (reply.is_discarded() || !reply.is_object()) continue;
    if (reply.contains("req") && reply["req"] != req) continue;  // a stale reply
    return reply;
  }
}

// ----------------------------------------------------------- pipeline_client

pipeline_client::pipeline_client(zmq::context_t& ctx, const std::string& endpoint,
                                 size_t window, const client_security* sec)
    : socket_(ctx, zmq::socket_type::dealer), window_(window == 0 ? 1 : window) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::sndhwm, 0);
  socket_.set(zmq::sockopt::rcvhwm, 0);
  apply_client_security(socket_, endpoint, sec);
  socket_.connect(endpoint);
}

size_t pipeline_client::poll(const reply_handler& on_reply, std::chrono::milliseconds timeout) {
  size_t handled = 0;
  zmq::message_t msg;
  for (;;) {
    bool got = false;
    try {
      got = socket_.recv(msg, zmq::recv_flags::dontwait).has_value();
    } catch (const zmq::error_t&) {
      return handled;
    }
    if (!got) {
      if (handled > 0 || !wait_readable(socket_, timeout)) return handled;
      timeout = 0ms;
      continue;
    }
    if (msg.more()) continue;  // only the last frame of a reply is its body
    if (in_flight_ > 0) --in_flight_;
    ++handled;
    on_reply({static_cast<const char*>(msg.data()), msg.size()});
  }
}

size_t pipeline_client::poll_until(const reply_handler& on_reply,
                                   std::chrono::steady_clock::time_point until) {
  size_t handled = poll(on_reply, std::chrono::milliseconds(0));
  if (handled > 0 || !wait_readable_until(socket_, until)) return handled;
  return poll(on_reply, std::chrono::milliseconds(0));
}

bool pipeline_client::submit(std::span<const char> body, const reply_handler& on_reply,
                             std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (in_flight_ >= window_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return false;
    poll(on_reply, left);
  }
  try {
    if (!socket_.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none))
      return false;
  } catch (const zmq::error_t&) {
    return false;
  }
  ++in_flight_;
  return true;
}

bool pipeline_client::drain(const reply_handler& on_reply, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (in_flight_ > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return false;
    poll(on_reply, left);
  }
  return true;
}

// ---------------------------------------------------------- event_subscriber

event_subscriber::event_subscriber(zmq::context_t& ctx, const std::string& events_ep,
                                   const std::string& replay_ep, uint64_t from,
                                   std::string topic_prefix, const client_security* sec)
    : sub_(ctx, zmq::socket_type::sub),
      replay_(ctx, replay_ep, sec),
      next_(from == 0 ? 1 : from),
      prefix_(std::move(topic_prefix)) {
  sub_.set(zmq::sockopt::linger, 0);
  sub_.set(zmq::sockopt::rcvhwm, 100'000);
  apply_client_security(sub_, events_ep, sec);
  sub_.set(zmq::sockopt::subscribe, "");
  sub_.connect(events_ep);  // subscribe first, then catch up (clone pattern)
}

bool event_subscriber::accept(const std::string& body, uint64_t seq) {
  if (seq != next_) return false;
  ++next_;
  if (prefix_.empty() || event_topic(body).rfind(prefix_, 0) == 0) ready_.emplace_back(seq, body);
  return true;
}

long event_subscriber::fill_page() {
  auto reply = replay_.call({{"from", next_}, {"max", kReplayPage}}, 5000ms);
  if (!reply || !reply->value("ok", false)) return -1;
  head_ = std::max(head_, reply->value("head", uint64_t{0}));
  const auto& events = (*reply)["events"];
  if (!events.is_array()) return -1;
  long used = 0;
  for (const auto& ev : events) {
    const uint64_t seq = ev.value("seq", uint64_t{0});
    if (seq < next_) continue;
    if (seq != next_) return used == 0 ? -1 : used;  // the server skipped: should not happen
    auto bytes = nlohmann::json::to_msgpack(ev);
    ++replayed_;
    accept(std::string(bytes.begin(), bytes.end()), seq);
    ++used;
  }
  return used;
}

bool event_subscriber::next(std::string& body, uint64_t& seq, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // behind: the journal holds events we have not delivered (head_ >= next_);
  // read them from replay a page at a time. A page that brings nothing (an
  // error, or a head not yet readable) waits for the feed or the next check.
  for (;;) {
    if (!ready_.empty()) {
      seq = ready_.front().first;
      body = std::move(ready_.front().second);
      ready_.pop_front();
      return true;
    }
    if (want_replay_) {
      last_check_ = std::chrono::steady_clock::now();
      want_replay_ = false;
      if (fill_page() > 0) {
        want_replay_ = head_ >= next_;
        continue;
      }
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    auto wait = std::min<std::chrono::milliseconds>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now), 100ms);
    if (wait_readable(sub_, wait)) {
      std::vector<zmq::message_t> parts;
      zmq::message_t part;
      try {
        while (sub_.recv(part, zmq::recv_flags::dontwait)) {
          bool more = part.more();
          parts.push_back(std::move(part));
          if (!more) break;
        }
      } catch (const zmq::error_t&) {
        continue;
      }
      if (parts.size() != 2) continue;
      std::string ev(static_cast<const char*>(parts[1].data()), parts[1].size());
      const uint64_t s = event_seq(ev);
      if (s == 0 || s < next_) continue;  // already delivered
      last_check_ = std::chrono::steady_clock::now();
      if (s > next_) {
        // A gap (or a late start): the missed events and this one come from
        // replay, page by page, before the feed is taken again.
        head_ = std::max(head_, s);
        want_replay_ = true;
        continue;
      }
      head_ = std::max(head_, s);
      accept(ev, s);
    } else if (std::chrono::steady_clock::now() - last_check_ > 200ms) {
      want_replay_ = true;  // a quiet feed may hide events we missed at its end
    }
  }
}

}  // namespace rill::transport
