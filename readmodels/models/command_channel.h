#pragma once
// command_channel: how a saga sends its commands to rill-core (PROTOCOL.md
// "Commands") and learns their outcome, without ever blocking.
//
// Each command goes out as {"cmd","agg","id","data","key","req"} with a fresh
// `req` number that the reply echoes. At most max_in_flight commands are
// outstanding. poll() classifies every reply:
//   done   - ok (appended) or dup (the key was seen: appended before);
//   retry  - overloaded, unavailable, timeout, or no reply within `timeout`;
//   failed - any other error (bad_request, not_found, ...): giving up is the
//            saga's business (it logs and records it).
// Replies to requests that already timed out, and replies without a known
// `req`, are ignored (the command is resent with the same idempotency key, so
// a late success is harmless). When every outstanding request has timed out
// the socket is reset, dropping whatever is still queued for a dead peer.
//
// Borrows the context. Thread-safety: not thread-safe; one thread.
#include <chrono>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <zmq.hpp>

#include "core/buffer.h"
#include "readmodels/models/dealer_link.h"

namespace rill::readmodels {

class command_channel {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  struct options {
    std::string endpoint;
    std::chrono::milliseconds timeout{5000};
    size_t max_in_flight = 256;
    std::shared_ptr<const transport::client_security> keys;  // tcp:// (CURVE)
  };
  enum class outcome : uint8_t { done, retry, failed };
  struct reply {
    uint64_t req = 0;
    outcome result = outcome::retry;
    bool dup = false;
    std::string error;    // protocol code, or "timeout"
    std::string message;  // the server's text, if any
  };

  command_channel(zmq::context_t& ctx, options opts);

  bool can_send() const { return in_flight_.size() < opts_.max_in_flight; }
  size_t in_flight() const { return in_flight_.size(); }

  // Sends one command. `data` is an encoded MessagePack map. Returns the
  // request's `req` number, or 0 when it could not be queued now (the window
  // is full, or the socket refused it): nothing was sent then.
  uint64_t send(std::string_view cmd, std::string_view agg, std::string_view id,
                std::string_view key, std::span<const char> data, time_point now);
  // Appends the replies that have arrived (up to max_replies) and the
  // requests that timed out by `now` to `out`.
  void poll(time_point now, std::vector<reply>& out, size_t max_replies = 4096);

  // Decodes one reply body from rill-core; false when it is not a reply to
  // one of our commands (not a map, no ok, no uint req). Pure; never throws
  // (public for tests and tests/fuzz).
  static bool decode(std::span<const char> body, reply& r);

 private:
  void expire(time_point now, std::vector<reply>& out);

  options opts_;
  dealer_link link_;
  uint64_t next_req_ = 1;
  absl::flat_hash_map<uint64_t, time_point> in_flight_;  // req -> sent at
  std::deque<std::pair<uint64_t, time_point>> sent_order_;
  out_buffer buf_;
};

}  // namespace rill::readmodels
