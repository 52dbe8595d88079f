#pragma once
// rates_channel: how the exchange-rate saga asks the rates service (rill-rates,
// a REP socket) for rates, without ever blocking.
//
// Request: {"base": "EUR", "currency": "USD"}.
// Reply:   {"ok": true, "rate": <number: units of base per 1 unit of
//          currency>, "base", "currency"} or {"ok": false, "error":
//          "not_found", "message"}.
//
// A REP socket answers requests one at a time, in order, and its replies carry
// no request id, so replies are matched first-in first-out (and checked
// against `currency` when the reply has one). At most max_in_flight lookups
// are outstanding. When the oldest gets no reply within `timeout`, or a reply
// does not match, every outstanding lookup is answered `retry` and the socket
// is reset (the Lazy Pirate pattern), so a late reply can never be taken for
// another currency's.
// Outcomes: ok (a finite rate > 0), not_found (the service has no such rate),
// retry (timeout, bad reply, any other error).
//
// Borrows the context. Thread-safety: not thread-safe; one thread.
#include <chrono>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "core/buffer.h"
#include "readmodels/models/dealer_link.h"

namespace rill::readmodels {

class rates_channel {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  struct options {
    std::string endpoint;
    std::chrono::milliseconds timeout{1000};
    size_t max_in_flight = 16;
    std::shared_ptr<const transport::client_security> keys;  // tcp:// (CURVE)
  };
  enum class outcome : uint8_t { ok, not_found, retry };
  struct answer {
    std::string currency;
    outcome result = outcome::retry;
    double rate = 0;
    std::string error;  // why, for retry / not_found
  };

  rates_channel(zmq::context_t& ctx, options opts);

  bool can_send() const { return in_flight_.size() < opts_.max_in_flight; }
  size_t in_flight() const { return in_flight_.size(); }

  // Asks for the rate of `currency` in `base`. False when it could not be
  // queued now (window full, socket refused it).
  bool send(std::string_view base, std::string_view currency, time_point now);
  // Appends the answers that arrived and the lookups that failed by `now`.
  void poll(time_point now, std::vector<answer>& out);

  // Decodes one reply body from the rates service to the lookup of
  // `expected`; in_sync is false when the reply is malformed or names
  // another currency. Pure; never throws (public for tests and tests/fuzz).
  static answer decode(std::span<const char> body, const std::string& expected, bool& in_sync);

 private:
  void fail_all(std::string_view why, std::vector<answer>& out);

  options opts_;
  dealer_link link_;
  std::deque<std::pair<std::string, time_point>> in_flight_;  // currency, sent at
  out_buffer buf_;
};

}  // namespace rill::readmodels
