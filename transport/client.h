#pragma once
// The C++ client library. Everything a program needs to talk to rill:
//
//   rpc_client       one request at a time over a DEALER socket (commands,
//                    admin ops, replay, queries, notifier ops); JSON in, JSON out.
//   pipeline_client  many requests in flight over one DEALER (window of N);
//                    raw MessagePack bodies; replies handed to a callback.
//   event_subscriber the event feed in seq order, without gaps: follows the
//                    PUB feed and fills gaps and the start from the replay
//                    endpoint (the clone pattern: subscribe first, catch up,
//                    drop what was already delivered).
//
// On rill-core's own host, transport/journal_subscriber.h reads the events
// straight from the mapped journal instead: no socket, nothing dropped, and
// faster (one futex wake-up after the append).
//
// Thread-safety: none of these classes is thread-safe; each owns its sockets
// and must be used by one thread. The zmq::context_t they borrow must outlive them.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "transport/security.h"

namespace rill::transport {

using namespace std::chrono_literals;

class rpc_client {
 public:
  rpc_client(zmq::context_t& ctx, const std::string& endpoint,
             const client_security* sec = nullptr);

  // Sends `request` (a JSON object, sent as MessagePack) with a fresh `req` id
  // (unless it has one) and returns the reply that echoes it; replies to
  // earlier timed-out requests are skipped. nullopt on timeout or if the
  // reply is not MessagePack that maps to JSON.
  std::optional<nlohmann::json> call(nlohmann::json request,
                                     std::chrono::milliseconds timeout = 5000ms);
  // Raw access: one body frame out, the next reply body in.
  bool send(std::span<const char> body);
  std::optional<zmq::message_t> receive(std::chrono::milliseconds timeout);
  zmq::socket_t& socket() { return socket_; }

 private:
  zmq::socket_t socket_;
  uint64_t next_req_ = 1;
};

class pipeline_client {
 public:
  using reply_handler = std::function<void(std::span<const char> reply)>;
  pipeline_client(zmq::context_t& ctx, const std::string& endpoint, size_t window,
                  const client_security* sec = nullptr);
  // Sends `body`; first handles replies until fewer than `window` are in
  // flight. False if no room came within `timeout` (the server is not answering).
  bool submit(std::span<const char> body, const reply_handler& on_reply,
              std::chrono::milliseconds timeout = 10000ms);
  // Handles the replies that have arrived, waiting up to `timeout` for the first.
  size_t poll(const reply_handler& on_reply, std::chrono::milliseconds timeout);
  // Like poll(), but waits at most until `until`, with sub-millisecond
  // precision (ppoll on the socket's ZMQ_FD; zmq_poll counts in whole ms).
  // Sleeps instead of spinning, so an open-loop sender between two sends
  // leaves the CPU to the server (on a 2-CPU host a spinning client starves
  // the daemon's threads). Timer slack of the calling thread applies.
  size_t poll_until(const reply_handler& on_reply, std::chrono::steady_clock::time_point until);
  // Waits until every request is answered; false on timeout.
  bool drain(const reply_handler& on_reply, std::chrono::milliseconds timeout);
  size_t in_flight() const { return in_flight_; }

 private:
  zmq::socket_t socket_;
  size_t window_;
  size_t in_flight_ = 0;
};

class event_subscriber {
 public:
  // Delivers every event with seq >= from, in order. `topic_prefix` filters
  // on "<agg>/<TYPE>" client-side (the feed itself is taken whole so that gaps
  // can be seen).
  event_subscriber(zmq::context_t& ctx, const std::string& events_ep,
                   const std::string& replay_ep, uint64_t from, std::string topic_prefix = "",
                   const client_security* sec = nullptr);
  // The next event body (MessagePack, as journaled) and its seq; false on timeout.
  // Catching up reads the replay endpoint one page at a time, as the caller
  // consumes events, so memory stays bounded however far behind `from` is.
  bool next(std::string& body, uint64_t& seq, std::chrono::milliseconds timeout);
  uint64_t next_seq() const { return next_; }
  uint64_t head() const { return head_; }  // journal head last reported by replay
  uint64_t replayed() const { return replayed_; }

 private:
  // Reads one page (at most kReplayPage events) from the replay endpoint,
  // starting at next_. Returns how many events it consumed; -1 on error.
  long fill_page();
  static constexpr uint32_t kReplayPage = 4096;
  bool accept(const std::string& body, uint64_t seq);
  zmq::socket_t sub_;
  rpc_client replay_;
  uint64_t next_;
  uint64_t head_ = 0;
  uint64_t replayed_ = 0;
  std::string prefix_;
  std::deque<std::pair<uint64_t, std::string>> ready_;
  std::chrono::steady_clock::time_point last_check_{};
  bool want_replay_ = true;  // read the next page from replay before the feed
};

// Reads `seq` from an event body; 0 if absent or malformed.
uint64_t event_seq(std::span<const char> body);
// Returns "<agg>/<type>" of an event body; empty if malformed.
std::string event_topic(std::span<const char> body);

}  // namespace rill::transport
