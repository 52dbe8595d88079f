#pragma once
// notifier_server: the loop of rill-notify. One thread owns both sockets:
//
//   notify     ROUTER  watch / unwatch / ping / status from clients; notes out
//   notify-in  PULL    change reports from read models
//
// Each turn drains up to `batch` requests and `batch` reports, then flushes the
// notes the reports queued (coalesced per client, see notifier_registry.h),
// then forgets clients silent for longer than the expiry. Nothing blocks on a
// client: every send is non-blocking (ROUTER_MANDATORY). Each client's
// ZeroMQ pipe holds up to 2 * client_queue messages.
//  - Notes: what a client's full pipe refuses is owed to it as one
//    whole-model note per model, tried again every few milliseconds until
//    the pipe takes it (notifier_registry.h); the client keeps its watches.
//  - Replies are never dropped for a client that reads: one its full pipe
//    refuses waits in a per-client backlog (in order, with the replies after
//    it) that each turn sends on as the pipe drains, so a client may pipeline
//    thousands of requests and read the replies later. Past
//    max_backlog_replies for one client (or max_backlog_total for all) its
//    replies are dropped, counted in replies_lost, and the client forgotten.
//    A client that has disconnected is forgotten and its backlog discarded.
//
// Message layouts: transport/notifier_protocol.h.
//
// Ownership: borrows the context, which must outlive the server; owns its
// sockets and registry. Thread-safety: construct and run() on one thread;
// stats() is for that thread too (tests read it after run() returned).
// Durability: none; the registry lives in memory and clients re-watch after
// a restart (they see known=false).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "core/buffer.h"
#include "core/limits.h"
#include "transport/notifier_registry.h"
#include "transport/security.h"
#include "transport/server_socket.h"

namespace rill::transport {

enum class log_level : uint8_t { info, warn };

struct notifier_server_options {
  std::string notify_endpoint;     // ROUTER, e.g. ipc://D/run/notify
  std::string notify_in_endpoint;  // PULL, e.g. ipc://D/run/notify-in
  registry_limits registry;        // expiry, client_queue, max clients / watches
  // Requests larger than this get too_large (PROTOCOL.md default 1 MiB).
  size_t max_request_bytes = 1 << 20;
  // Reports larger than this are discarded and counted (no reply channel).
  size_t max_report_bytes = 16 << 20;
  // Reports with more keys than this count as whole-model changes.
  size_t max_report_keys = 100'000;
  // Requests and reports handled per socket per turn before notes are
  // flushed: more coalesces more under load, fewer lowers latency.
  size_t batch = 1024;
  // Reports queued in the PULL socket before read models' PUSH blocks.
  int report_queue = 100'000;
  // Requests queued per client connection before libzmq pushes back.
  int request_queue = 1'000;
  // Replies kept for a client whose pipe is full (see above): per client,
  // and in all.
  size_t max_backlog_replies = 100'000;
  size_t max_backlog_total = 1'000'000;
  // Where the server reports what an operator should know (the first bad
  // report, and every 10 s a summary when clients were dropped or expired).
  // Called on the server's thread; may be empty.
  std::function<void(log_level, const std::string&)> log;
};

struct notifier_counters {
  uint64_t requests = 0;
  uint64_t requests_bad = 0;  // answered with an error
  uint64_t reports_bad = 0;   // discarded change reports
  uint64_t replies_lost = 0;  // replies dropped: a closed pipe, or a backlog past its cap
  uint64_t replies_delayed = 0;  // replies that waited in a backlog
};

class notifier_server {
 public:
  // Binds both endpoints (ipc: parent directory made 0700). Throws at startup
  // (zmq::error_t, std::runtime_error) if an endpoint cannot be bound, or a
  // tcp:// endpoint lacks `sec`.
  notifier_server(zmq::context_t& ctx, const notifier_server_options& opt,
                  const server_security* sec = nullptr);

  // Serves until `stop` is set or `wake_fd` (if >= 0, e.g. a signalfd)
  // becomes readable. Checks `stop` at least every 100 ms.
  void run(const std::atomic<bool>& stop, int wake_fd = -1);

  const notifier_registry& registry() const { return registry_; }
  const notifier_counters& counters() const { return counters_; }

 private:
  void handle_request(inbound& in, std::chrono::steady_clock::time_point now);
  void handle_report(const zmq::message_t& msg);
  // Sends out_ to the client, non-blocking; keeps it in the client's backlog
  // if its pipe is full (see above).
  void send_reply(std::string_view address, bool delimiter);
  // Sends what the backlogs hold, as far as the pipes take it.
  void drain_backlogs();
  void lose_client(const std::string& address, send_result why);
  void encode_status(bool known, std::span<const char> req);
  void log_summary(std::chrono::steady_clock::time_point now);

  notifier_server_options opt_;
  limits request_limits_;
  limits report_limits_;
  server_socket router_;
  zmq::socket_t pull_;
  notifier_registry registry_;
  notifier_counters counters_;
  out_buffer out_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_summary_;
  registry_stats summarized_;
  uint64_t summarized_lost_ = 0;
  struct backlog {
    bool delimiter = false;
    std::deque<std::string> replies;
  };
  std::unordered_map<std::string, backlog> backlogs_;  // by client address
  size_t backlog_total_ = 0;                           // replies in all backlogs
  // Per model that reported (status "sources"): tells an operator which read
  // models reach this notifier and how far, and a client that its model's
  // start-up report is in. At most kMaxSources names are tracked (the names
  // come from the reports).
  struct report_source {
    uint64_t reports = 0;
    uint64_t seq = 0;  // the highest seq reported
  };
  static constexpr size_t kMaxSources = 1024;
  string_map<report_source> sources_;
  out_buffer sources_buf_;
};

// A client's address: its envelope's frames without the delimiter (the
// identity, then any ROUTER-DEALER proxy hops), each as a 4-byte length and
// the bytes, so a client behind a proxy is told apart from the proxy's other
// clients and its notes find their way back. `delimiter`: the envelope ended
// with an empty frame.
std::string route_address(const std::vector<zmq::message_t>& route, bool& delimiter);

// Sends [identity][hops...][""?][body] on a ROUTER without blocking. `full`
// when the peer's pipe is at its high-water mark, `gone` when it is not
// connected.
send_result send_routed(zmq::socket_t& router, std::string_view address, bool delimiter,
                        zmq::message_t& body);

}  // namespace rill::transport
