#pragma once
// A ROUTER socket that serves REQ and DEALER clients per PROTOCOL.md:
//
//   REQ, or DEALER with delimiter:  [identity][empty][body]   -> reply [identity][empty][reply]
//   DEALER without delimiter:       [identity][body]          -> reply [identity][reply]
//   through ROUTER-DEALER proxies:  [identity][hop]...[empty][body]
//                                   -> reply [identity][hop]...[empty][reply]
//
// The envelope ends at the first empty frame followed by another frame; the
// reply mirrors it. A request with frames after the
// body is flagged `extra_frames` (the caller answers bad_request); at most
// max_frames frames are kept, the rest are drained and discarded.
//
// On a tcp:// endpoint with CURVE, a client whose key is not on the
// allow-list is admitted as kForbiddenUserId (security.h); recv() answers
// each of its requests `forbidden` (req echoed) itself and never returns
// them, so no caller sees a request from an unauthorised client. Those
// answers never wait for a full peer, and at most kForbiddenPerSecond are
// sent a second (the rest are dropped and counted): an unauthorised client
// can neither stall the serving thread nor make it work without bound.
//
// Replies are never dropped silently: the send high-water mark is raised and
// ROUTER_MANDATORY is set, so a full pipe is seen; reply() then waits up to
// send_timeout for the peer to drain and counts a drop (logged by the caller)
// only for a peer that has stopped reading or disconnected. A peer that let
// that wait expire is marked stalled: its later replies are tried once,
// without waiting, until one goes through again. So a client that stops
// reading with a million requests in flight costs the serving thread one
// wait, not one per reply (which froze every other client for days).
//
// The high-water mark counts replies, not bytes. With max_peer_bytes set,
// the bytes of the replies handed to ZeroMQ and not yet written to a peer's
// connection are counted per peer (each reply's buffer is ours, and libzmq
// hands it back once written); a reply that would take a peer past the
// budget is refused like one its full pipe refuses (wait, then drop and mark
// the peer stalled). Without it, a client that asked for a thousand 1.6 MB
// answers and read none made a model hold 1.7 GB (an outside probe; it
// would have gone on to the OOM killer). A single reply larger than the
// budget still goes to a peer that has nothing queued. Replies shorter
// than count_from are left to the high-water mark (rill-core's small
// acknowledgements; a million of them is bounded), the rest are counted.
//
// Thread-safety: none. Created and used by exactly one thread (STYLE rule 4).
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <zmq.hpp>

#include "transport/security.h"

namespace rill::transport {

struct server_options {
  int send_hwm = 1'000'000;        // replies queued per peer before reply() waits
  // Requests queued per peer before libzmq stops reading its connection
  // (back-pressure: the rest wait in the client's pipe and the kernel). It
  // bounds what one client's unhandled requests cost, at most this many
  // times the request size limit: at 100,000 a client that sent 228 KB
  // batches faster than rill-core handled them made it hold 11 GB in 20 s.
  // A thousand in flight per connection is more than a drained batch needs.
  int recv_hwm = 1000;
  int64_t max_message = 64 << 20;  // transport cap: larger messages drop the connection
  std::chrono::milliseconds send_timeout{2000};  // how long reply() waits for a full peer
  size_t max_frames = 8;                         // frames kept per request (envelope hops + body)
  // Bytes of replies queued for one peer and not yet written to its
  // connection (see above); 0 = no budget, only send_hwm.
  uint64_t max_peer_bytes = 0;
  // Replies shorter than this are not counted against max_peer_bytes, only
  // against send_hwm: rill-core's acknowledgements (about 30 bytes, which
  // libzmq keeps inside the message itself) stay off the counting path,
  // while its batch and error replies are counted. 0 = count every reply.
  size_t count_from = 0;
};

// `forbidden` answers sent per second at most, per socket.
inline constexpr uint64_t kForbiddenPerSecond = 1000;

struct inbound {
  std::vector<zmq::message_t> route;  // identity frame(s) and the delimiter if present
  zmq::message_t body;
  bool extra_frames = false;
  bool empty = false;                 // no body frame at all
  std::span<const char> bytes() const {
    return {static_cast<const char*>(body.data()), body.size()};
  }
  // Frees the frames' buffers (the object stays usable for the next recv).
  void release() {
    route.clear();
    body.rebuild();
  }
};

class server_socket {
 public:
  // Binds `endpoint` (ipc:// or tcp://; tcp requires `sec` with CURVE keys).
  // Throws zmq::error_t at startup if the bind fails.
  server_socket(zmq::context_t& ctx, const std::string& endpoint, const server_options& opt = {},
                const server_security* sec = nullptr);

  // Receives one request; false when none is waiting (dontwait) or on EINTR.
  [[nodiscard]] bool recv(inbound& in, bool wait);
  // Sends `reply` to the peer of `in` with the same envelope. Returns false if
  // the peer is gone or did not drain within send_timeout.
  bool reply(const inbound& in, std::span<const char> reply);

  zmq::socket_t& socket() { return socket_; }
  uint64_t dropped_replies() const { return dropped_; }
  // Peers marked stalled now (see above); at most kMaxStalledPeers.
  size_t stalled_peers() const { return stalled_.size(); }
  static constexpr size_t kMaxStalledPeers = 4096;
  // Bytes counted against max_peer_bytes for this peer now (0 when none is
  // counted); a reply counts its size plus kReplyOverhead.
  uint64_t queued_bytes(std::string_view identity) const;
  static constexpr uint64_t kReplyOverhead = 64;
  struct peer_bytes;  // one peer's counter (server_socket.cc)
  // Requests from clients not on the allow-list (answered `forbidden`, or
  // dropped past kForbiddenPerSecond).
  uint64_t forbidden() const { return forbidden_; }

 private:
  bool recv_one(inbound& in, bool wait);
  bool from_refused_client(const inbound& in) const;
  void answer_forbidden(const inbound& in);
  bool send_reply(const inbound& in, std::span<const char> reply,
                  std::chrono::milliseconds timeout);
  std::shared_ptr<peer_bytes> bytes_of(const inbound& in);
  void send_counted(std::span<const char> reply, std::shared_ptr<peer_bytes> owner);

  zmq::socket_t socket_;
  server_options opt_;
  bool secured_ = false;  // CURVE: requests may come from refused clients
  uint64_t dropped_ = 0;
  uint64_t forbidden_ = 0;
  std::chrono::steady_clock::time_point forbidden_window_{};  // start of the current second
  uint64_t forbidden_answers_ = 0;                            // answers sent in it
  std::vector<zmq::message_t> frames_;  // recv()'s scratch
  std::unordered_set<std::string> stalled_;  // identities of stalled peers
  // max_peer_bytes: per peer identity, the bytes queued (decremented by
  // libzmq's I/O thread as replies are written). Entries with nothing
  // queued are swept once the map has doubled since the last sweep.
  std::unordered_map<std::string, std::shared_ptr<peer_bytes>> peer_bytes_;
  size_t sweep_at_ = 64;
};

// An endpoint no start can bind (not ipc:// or tcp://, a path too long, a
// host or interface that does not exist): a daemon exits 2 on it.
class bad_endpoint : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};
// Checks the endpoint (bad_endpoint); for ipc:// creates its folder if it is
// missing (mode 0700, core/private_dir.h) and removes a stale socket file
// left by a dead process, refusing one a live process still listens on (two
// daemons given one path) instead of taking it over; then binds. A failure
// names the endpoint: bad_endpoint for an address that can never be
// bound, std::runtime_error otherwise (in use: a restart may find it free).
// The socket files bound are recorded for remove_bound_ipc_files.
void bind_endpoint(zmq::socket_t& s, const std::string& endpoint);
// Whether a process listens on the Unix socket file at `path` (a connect
// is accepted); false for a stale file, or none.
bool ipc_socket_answers(const std::string& path);
// Removes the socket files this process bound with bind_endpoint, so that
// clients see "not running" rather than a socket nobody answers, whether the
// daemon stopped cleanly or on a fault after binding some.
void remove_bound_ipc_files();
// Calls remove_bound_ipc_files when it goes out of scope: a daemon's main()
// holds one around run(), whichever way run() ends.
struct bound_ipc_files_guard {
  bound_ipc_files_guard() = default;
  bound_ipc_files_guard(const bound_ipc_files_guard&) = delete;
  bound_ipc_files_guard& operator=(const bound_ipc_files_guard&) = delete;
  ~bound_ipc_files_guard() { remove_bound_ipc_files(); }
};

}  // namespace rill::transport
