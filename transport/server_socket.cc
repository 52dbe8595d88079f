#include "transport/server_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "core/buffer.h"
#include "core/limits.h"
#include "core/private_dir.h"
#include "core/reply.h"
#include "core/request.h"
#include "transport/endpoints.h"

namespace rill::transport {

namespace {

std::mutex bound_mutex;
std::vector<std::string>& bound_files() {
  static std::vector<std::string> files;
  return files;
}

// For ipc://: the folder made, a stale socket file removed (see bind_endpoint).
void prepare_ipc_endpoint(const std::string& endpoint) {
  constexpr std::string_view prefix = "ipc://";
  if (endpoint.rfind(prefix, 0) != 0) return;
  std::filesystem::path path = endpoint.substr(prefix.size());
  if (path.has_parent_path()) make_private_dir(path.parent_path());
  if (ipc_socket_answers(path)) {
    throw std::runtime_error("endpoint " + endpoint +
                             " is in use: another process listens on that socket file");
  }
  ::unlink(path.c_str());  // stale socket from a killed process
}

}  // namespace

bool ipc_socket_answers(const std::string& path) {
  sockaddr_un a{};
  if (path.size() >= sizeof a.sun_path) return false;
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool answered = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return answered;
}

void bind_endpoint(zmq::socket_t& s, const std::string& endpoint) {
  if (auto why = endpoint_problem(endpoint); !why.empty()) throw bad_endpoint(why);
  prepare_ipc_endpoint(endpoint);
  try {
    s.bind(endpoint);
  } catch (const zmq::error_t& e) {
    // An address that can never be bound (no such host or interface) is the
    // configuration's fault; one in use may be free at the next try.
    const int n = e.num();
    if (n == EINVAL || n == EPROTONOSUPPORT || n == ENODEV || n == EADDRNOTAVAIL)
      throw bad_endpoint("cannot bind " + endpoint + ": " + e.what());
    throw std::runtime_error("cannot bind " + endpoint + ": " + e.what());
  }
  if (endpoint.rfind("ipc://", 0) == 0) {
    std::lock_guard lock(bound_mutex);
    bound_files().push_back(endpoint.substr(6));
  }
}

void remove_bound_ipc_files() {
  std::lock_guard lock(bound_mutex);
  for (const auto& f : bound_files()) ::unlink(f.c_str());
  bound_files().clear();
}

server_socket::server_socket(zmq::context_t& ctx, const std::string& endpoint,
                             const server_options& opt, const server_security* sec)
    : socket_(ctx, zmq::socket_type::router), opt_(opt) {
  socket_.set(zmq::sockopt::sndhwm, opt.send_hwm);
  socket_.set(zmq::sockopt::rcvhwm, opt.recv_hwm);
  socket_.set(zmq::sockopt::maxmsgsize, opt.max_message);
  socket_.set(zmq::sockopt::router_mandatory, 1);
  socket_.set(zmq::sockopt::linger, 0);
  apply_server_security(socket_, endpoint, sec, refused_clients::answer);
  secured_ = is_tcp(endpoint);  // apply_server_security threw if it had no CURVE keys
  bind_endpoint(socket_, endpoint);
}

bool server_socket::recv(inbound& in, bool wait) {
  for (;;) {
    if (!recv_one(in, wait)) return false;
    if (!secured_ || !from_refused_client(in)) return true;
    answer_forbidden(in);
  }
}

bool server_socket::from_refused_client(const inbound& in) const {
  // The ZAP user id travels as metadata on every frame that came off the
  // wire; the identity frame is ROUTER's own, so look at the one after it.
  const zmq::message_t* wire = !in.empty ? &in.body : in.route.size() > 1 ? &in.route[1] : nullptr;
  if (wire == nullptr) return false;
  const char* user = zmq_msg_gets(wire->handle(), "User-Id");
  return user != nullptr && std::strcmp(user, kForbiddenUserId) == 0;
}

void server_socket::answer_forbidden(const inbound& in) {
  ++forbidden_;
  const auto now = std::chrono::steady_clock::now();
  if (now - forbidden_window_ >= std::chrono::seconds(1)) {
    forbidden_window_ = now;
    forbidden_answers_ = 0;
  }
  if (forbidden_answers_ >= kForbiddenPerSecond) return;
  ++forbidden_answers_;
  const std::span<const char> req =
      in.empty ? std::span<const char>() : find_req(in.bytes(), limits{});
  out_buffer out;
  encode_error(out, errc::forbidden, "this client's CURVE key is not on the server's allow-list",
               req);
  send_reply(in, {out.data(), out.size()}, std::chrono::milliseconds(0));
}

bool server_socket::recv_one(inbound& in, bool wait) {
  in.route.clear();
  in.extra_frames = false;
  in.empty = false;
  in.body.rebuild();
  const auto flags = wait ? zmq::recv_flags::none : zmq::recv_flags::dontwait;
  std::vector<zmq::message_t>& frames = frames_;  // reused: no allocation per request
  frames.clear();
  try {
    zmq::message_t first;
    if (!socket_.recv(first, flags)) return false;
    bool more = first.more();
    frames.push_back(std::move(first));
    while (more) {
      zmq::message_t part;
      (void)socket_.recv(part, zmq::recv_flags::none);  // parts of one message arrive together
      more = part.more();
      if (frames.size() < opt_.max_frames) {
        frames.push_back(std::move(part));
      } else {
        in.extra_frames = true;
      }
    }
  } catch (const zmq::error_t&) {
    return false;  // EINTR or the context is terminating
  }
  // frames[0] is the identity added by ROUTER. The envelope runs up to the
  // first empty frame that has a frame after it: one hop ([id][empty]) for a
  // REQ or a DEALER with delimiter, more when the request came through a
  // ROUTER-DEALER proxy ([id][hop id]...[empty]). Without such a frame the
  // peer is a DEALER without delimiter and the envelope is the identity.
  size_t body_at = 1;
  for (size_t i = 1; i + 1 < frames.size(); ++i) {
    if (frames[i].size() == 0) {
      body_at = i + 1;
      break;
    }
  }
  for (size_t i = 0; i < body_at && i < frames.size(); ++i) in.route.push_back(std::move(frames[i]));
  if (frames.size() <= body_at) {
    in.empty = true;
    return true;
  }
  in.body = std::move(frames[body_at]);
  if (frames.size() > body_at + 1) in.extra_frames = true;
  return true;
}

struct server_socket::peer_bytes {
  std::atomic<uint64_t> queued{0};
};

namespace {

// A reply's buffer with the counter it is charged to, in one allocation:
// libzmq calls release() from its I/O thread once the bytes are written (or
// from whichever thread drops the message).
struct counted_reply {
  std::shared_ptr<server_socket::peer_bytes> owner;
  uint64_t cost = 0;
  char* data() { return reinterpret_cast<char*>(this + 1); }
  static void release(void* /*data*/, void* hint) {
    auto* r = static_cast<counted_reply*>(hint);
    r->owner->queued.fetch_sub(r->cost, std::memory_order_relaxed);
    r->~counted_reply();
    ::operator delete(r);
  }
};

}  // namespace

std::shared_ptr<server_socket::peer_bytes> server_socket::bytes_of(const inbound& in) {
  std::string id(static_cast<const char*>(in.route[0].data()), in.route[0].size());
  const auto found = peer_bytes_.try_emplace(std::move(id));
  std::shared_ptr<peer_bytes>& entry = found.first->second;
  if (!found.second) return entry;
  entry = std::make_shared<peer_bytes>();
  std::shared_ptr<peer_bytes> mine = entry;  // the sweep may rehash the map
  if (peer_bytes_.size() >= sweep_at_) {
    std::erase_if(peer_bytes_, [&mine](const auto& e) {
      return e.second != mine && e.second.use_count() == 1 &&
             e.second->queued.load(std::memory_order_relaxed) == 0;
    });
    sweep_at_ = std::max<size_t>(64, 2 * peer_bytes_.size());
  }
  return mine;
}

uint64_t server_socket::queued_bytes(std::string_view identity) const {
  auto it = peer_bytes_.find(std::string(identity));
  return it == peer_bytes_.end() ? 0 : it->second->queued.load(std::memory_order_relaxed);
}

void server_socket::send_counted(std::span<const char> reply, std::shared_ptr<peer_bytes> owner) {
  void* mem = ::operator new(sizeof(counted_reply) + reply.size());
  auto* r = new (mem) counted_reply{std::move(owner), reply.size() + kReplyOverhead};
  if (!reply.empty()) std::memcpy(r->data(), reply.data(), reply.size());
  r->owner->queued.fetch_add(r->cost, std::memory_order_relaxed);
  zmq::message_t body(r->data(), reply.size(), &counted_reply::release, r);
  (void)socket_.send(body, zmq::send_flags::none);
}

bool server_socket::reply(const inbound& in, std::span<const char> reply) {
  return send_reply(in, reply, opt_.send_timeout);
}

bool server_socket::send_reply(const inbound& in, std::span<const char> reply,
                               std::chrono::milliseconds timeout) {
  std::optional<std::chrono::steady_clock::time_point> deadline;  // set at the first refusal
  // A peer's identity, looked up only while some peer is marked stalled.
  auto identity = [&in] {
    return std::string(static_cast<const char*>(in.route[0].data()), in.route[0].size());
  };
  const bool was_stalled = !stalled_.empty() && stalled_.contains(identity());
  if (was_stalled) timeout = std::chrono::milliseconds(0);
  std::shared_ptr<peer_bytes> owner;
  if (opt_.max_peer_bytes > 0 && reply.size() >= opt_.count_from) owner = bytes_of(in);
  // Over the byte budget: refused like a full pipe (a reply bigger than the
  // whole budget still goes to a peer with nothing queued).
  auto over_budget = [&] {
    if (!owner) return false;
    const uint64_t q = owner->queued.load(std::memory_order_relaxed);
    return q > 0 && q + reply.size() + kReplyOverhead > opt_.max_peer_bytes;
  };
  // The first frame decides whether the peer can take the message; once it is
  // accepted, the remaining frames of the message always go through.
  for (;;) {
    const bool budget_full = over_budget();
    if (!budget_full) {
      try {
        zmq::message_t id(in.route[0].data(), in.route[0].size());
        auto sent = socket_.send(id, zmq::send_flags::sndmore | zmq::send_flags::dontwait);
        if (sent) break;
      } catch (const zmq::error_t& e) {
        ++dropped_;  // EHOSTUNREACH: the peer disconnected
        if (was_stalled) stalled_.erase(identity());
        return false;
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (!deadline) deadline = now + timeout;
    if (now >= *deadline) {
      ++dropped_;
      if (!was_stalled && timeout.count() > 0) {
        if (stalled_.size() >= kMaxStalledPeers) stalled_.erase(stalled_.begin());
        stalled_.insert(identity());
      }
      return false;
    }
    if (budget_full) {
      // libzmq's I/O thread lowers the count as it writes; nothing to poll.
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLOUT, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(1));
    } catch (const zmq::error_t&) {
      // EINTR (a signal such as SIGTERM): the deadline still bounds the wait.
    }
  }
  if (was_stalled) stalled_.erase(identity());  // reading again
  for (size_t i = 1; i < in.route.size(); ++i) {
    zmq::message_t part(in.route[i].data(), in.route[i].size());
    (void)socket_.send(part, zmq::send_flags::sndmore);
  }
  if (owner) {
    send_counted(reply, std::move(owner));
    return true;
  }
  zmq::message_t body(reply.data(), reply.size());
  (void)socket_.send(body, zmq::send_flags::none);
  return true;
}

}  // namespace rill::transport
