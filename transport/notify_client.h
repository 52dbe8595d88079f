#pragma once
// notify_client: what an application uses to be told when a read model
// changed (PROTOCOL.md "Change notification", layouts in
// transport/notifier_protocol.h). One DEALER socket to the notifier's
// `notify` endpoint carries requests, replies and notes.
//
//   notify_client nc(ctx, eps.notify);
//   nc.watch("customers", "c-23");          // one key
//   nc.watch("top_customers");              // the whole model
//   while (auto n = nc.next_note(1s)) ...   // re-query the model, n->seq is
//                                           // the `after` for read-your-writes
//
// Heartbeats: while it holds watches the client pings every
// min(options.heartbeat, notifier expiry / 3) (the notifier states its expiry
// in every reply); pings are sent from inside next_note(), watch() and
// unwatch(), so call next_note() at least that often.
//
// Recovery (the notifier restarted, forgot the client as silent, or is
// unreachable) is automatic:
//   - a ping (or watch / unwatch) not answered within options.reply_timeout:
//     the socket is closed
//     and a new one connected (a new identity), then
//   - a reply saying known=false after a watch had been acknowledged (the
//     notifier does not know this connection any more), or a new socket:
//     every watch is sent again, followed by a ping; when that ping is
//     answered, next_note() yields one note with resync=true (and seq 0) per
//     watch: changes may have been missed meanwhile, re-read what it covers.
// Until the notifier answers, the client retries every reply_timeout.
//
// Ownership: borrows the context (it must outlive the client); owns its
// socket. Thread-safety: not thread-safe; one thread uses it (STYLE rule 4).
// Durability: none; watches live in the client and in the notifier's memory.
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <zmq.hpp>

#include "core/buffer.h"
#include "core/error.h"
#include "transport/notifier_codec.h"
#include "transport/security.h"

namespace rill::transport {

struct notify_client_options {
  // Longest interval between pings; the notifier's expiry / 3 if shorter.
  // A ping is how a client learns that the notifier restarted (known=false)
  // or is gone: this bounds how long notes may stop before a resync.
  std::chrono::milliseconds heartbeat{1'000};
  // A ping unanswered this long means the connection is lost.
  std::chrono::milliseconds reply_timeout{3'000};
  // Messages libzmq buffers for this client; when it and the notifier's side
  // are full the notifier owes the client a whole-model note per model
  // instead of the per-key ones (sent once there is room again).
  int receive_hwm = 10'000;
  // Notes held for the application; beyond it they are replaced by one
  // resync note per watch.
  size_t max_pending = 100'000;
};

struct note {
  std::string model;
  std::optional<std::string> key;  // nullopt: the whole model changed
  uint64_t seq = 0;                // the journal seq that caused it; 0 with resync
  bool resync = false;             // synthetic: notes may have been missed
};

class notify_client {
 public:
  using clock = std::chrono::steady_clock;

  notify_client(zmq::context_t& ctx, std::string endpoint, const notify_client_options& opt = {},
                const client_security* sec = nullptr);

  // Watches a model (key nullopt) or one key of it, waiting up to `timeout`
  // for the notifier's answer. ok; an error code the notifier gave
  // (bad_request, overloaded: the watch is not kept); or timeout: the watch is
  // kept and is registered once the notifier answers (recovery above).
  errc watch(std::string_view model, std::optional<std::string_view> key = std::nullopt,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  // Removes a watch (locally at once); ok, or timeout if the notifier did not answer.
  errc unwatch(std::string_view model, std::optional<std::string_view> key = std::nullopt,
               std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

  // The next note, waiting up to `timeout`; nullopt if none came.
  std::optional<note> next_note(std::chrono::milliseconds timeout);

  size_t watches() const { return watches_.size(); }
  // How many times every watch was re-registered after a loss.
  uint64_t recoveries() const { return recoveries_; }
  // Messages from the notifier that could not be decoded (ignored).
  uint64_t bad_messages() const { return bad_messages_; }

 private:
  using watch_entry = std::pair<std::string, std::optional<std::string>>;

  void connect();
  uint64_t send_request(notify::op o, std::optional<std::string_view> model,
                        std::optional<std::string_view> key);
  // Reads what has arrived (waiting up to `wait` for the first message);
  // returns the reply to `awaited` if it came (its errc), else nullopt.
  std::optional<errc> pump(std::chrono::milliseconds wait, uint64_t awaited);
  std::optional<errc> handle(std::span<const char> bytes, uint64_t awaited);
  // Pings when due; reconnects when a ping went unanswered.
  void maintain(clock::time_point now);
  std::chrono::milliseconds until_maintenance(clock::time_point now) const;
  void start_rewatch();
  // Makes request `req` the liveness probe unless a ping is outstanding.
  void probe(uint64_t req);
  void push_note(note n);
  void push_resyncs();
  std::optional<errc> await(uint64_t req, std::chrono::milliseconds timeout);

  zmq::context_t& ctx_;
  std::string endpoint_;
  notify_client_options opt_;
  const client_security* sec_;
  std::optional<zmq::socket_t> socket_;
  std::set<watch_entry> watches_;
  std::deque<note> pending_;
  out_buffer out_;
  uint64_t next_req_ = 1;
  std::chrono::milliseconds interval_;
  clock::time_point last_ping_{};
  uint64_t ping_req_ = 0;  // outstanding ping, 0 if none
  clock::time_point ping_sent_{};
  uint64_t marker_req_ = 0;  // the ping ending a re-watch, 0 if none
  bool registered_ = false;  // the notifier acknowledged a watch on this connection
  uint64_t recoveries_ = 0;
  uint64_t bad_messages_ = 0;
};

}  // namespace rill::transport
