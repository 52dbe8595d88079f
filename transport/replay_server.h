#pragma once
// replay_server: the `replay` endpoint (PROTOCOL.md "Replay"). Owns one thread
// and its ROUTER socket; serves stored events straight from the mapped
// journal (the bodies are copied into the reply as journaled):
//
//   {"from": seq, "max": n}              -> {"ok", "events": [...], "head"}
//   {"agg": t, "id": i, "from_ver": v}   -> that aggregate's events in version
//                                           order (not_found if it has none)
//   {"op": "ping"}                       -> {"ok": true}
//
// Pages are capped (max_events, max_bytes); a client pages on from the last
// seq + 1 until it reaches head. Events beyond `head` (the feed limit: in
// batch sync mode, the durable head) are never served.
//
// The per-aggregate history index is built lazily on the first aggregate
// request by reading the journal once, then kept up to date incrementally.
//
// Thread-safety: construct and destroy from one thread; everything else runs
// on the server's own thread.
#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "transport/security.h"
#include "transport/server_socket.h"

namespace rill::transport {

struct replay_options {
  std::string endpoint;
  std::filesystem::path journal_dir;
  uint32_t max_events = 10'000;       // per reply
  size_t max_bytes = 8 << 20;         // per reply (at least one event is always sent)
  size_t max_request_bytes = 1 << 20;  // as the command endpoint's default (PROTOCOL.md)
  // A page is up to max_bytes: the pipe to one client holds 16 of them
  // (128 MiB), not the million small replies of a command endpoint, so a
  // client that sends page requests and never reads cannot make the
  // server hold gigabytes. A pipelining reader waits for room instead.
  server_options server = [] {
    server_options s;
    s.send_hwm = 16;
    return s;
  }();
};

class replay_server {
 public:
  // Binds at once (throws on failure) and starts the thread. `head` tells the
  // last seq that may be served; it is called from the server thread.
  replay_server(zmq::context_t& ctx, replay_options opt, std::function<uint64_t()> head,
                const server_security* sec);
  ~replay_server();
  replay_server(const replay_server&) = delete;
  replay_server& operator=(const replay_server&) = delete;
  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  // Replies dropped: the client was gone, or did not read for the socket's
  // send_timeout (server_socket.h).
  uint64_t dropped_replies() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  class impl;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace rill::transport
