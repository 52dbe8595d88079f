#pragma once
// Fake peers for the saga tests, bound on ipc paths in a temp dir: rill-core
// (a ROUTER that mirrors envelopes, as the real one does) and rill-rates (a
// REP). The test drives everything from one thread: tick the saga, then let
// the fakes answer for a few milliseconds, until a condition holds.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "readmodels/saga.h"

namespace rill::readmodels::testing {

using json = nlohmann::json;
using namespace std::chrono_literals;

inline std::optional<json> decode_body(const zmq::message_t& m) {
  try {
    const auto* p = static_cast<const uint8_t*>(m.data());
    return json::from_msgpack(p, p + m.size());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

inline zmq::message_t encode_body(const json& j) {
  const std::vector<uint8_t> bytes = json::to_msgpack(j);
  return zmq::message_t(bytes.data(), bytes.size());
}

// Plays rill-core's command endpoint. `handler` answers a command (the reply
// without `req`, which is added), or returns nullopt to leave it unanswered.
class fake_core {
 public:
  using handler = std::function<std::optional<json>(const json& request)>;
  fake_core(zmq::context_t& ctx, const std::string& endpoint)
      : socket_(ctx, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(endpoint);
  }
  // Answers whatever arrives within `wait`.
  void serve(std::chrono::milliseconds wait, const handler& h) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, wait) <= 0) return;
    while (true) {
      std::vector<zmq::message_t> frames;
      zmq::message_t part;
      if (!socket_.recv(part, zmq::recv_flags::dontwait)) return;
      bool more = part.more();
      frames.push_back(std::move(part));
      while (more) {
        zmq::message_t p;
        (void)socket_.recv(p, zmq::recv_flags::none);
        more = p.more();
        frames.push_back(std::move(p));
      }
      ASSERT_GE(frames.size(), 2u);
      auto body = decode_body(frames.back());
      ASSERT_TRUE(body.has_value());
      received.push_back(*body);
      std::optional<json> reply = h(*body);
      if (!garbage.empty()) {  // first a hostile reply on the same envelope
        socket_.send(zmq::buffer(frames[0].data(), frames[0].size()), zmq::send_flags::sndmore);
        socket_.send(zmq::buffer(garbage.front()), zmq::send_flags::none);
        garbage.erase(garbage.begin());
      }
      if (!reply) continue;
      if (body->contains("req")) (*reply)["req"] = (*body)["req"];
      for (size_t i = 0; i + 1 < frames.size(); ++i)
        socket_.send(zmq::buffer(frames[i].data(), frames[i].size()), zmq::send_flags::sndmore);
      socket_.send(encode_body(*reply), zmq::send_flags::none);
    }
  }
  // Raw bodies sent (one per request, before the real reply) to test that
  // the saga never trusts what it receives.
  std::vector<std::string> garbage;
  static json ok(uint64_t seq = 100) {
    return {{"ok", true}, {"seq", seq}, {"ver", 2}, {"dup", false}};
  }
  static json error(const std::string& code) {
    return {{"ok", false}, {"error", code}, {"message", "from the fake"}};
  }
  std::vector<json> received;

 private:
  zmq::socket_t socket_;
};

// Plays rill-rates (REP): `handler` answers every request.
class fake_rates {
 public:
  using handler = std::function<json(const json& request)>;
  fake_rates(zmq::context_t& ctx, const std::string& endpoint)
      : socket_(ctx, zmq::socket_type::rep) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(endpoint);
  }
  void serve(std::chrono::milliseconds wait, const handler& h) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, wait) <= 0) return;
    zmq::message_t m;
    while (socket_.recv(m, zmq::recv_flags::dontwait)) {
      auto body = decode_body(m);
      ASSERT_TRUE(body.has_value());
      received.push_back(*body);
      socket_.send(encode_body(h(*body)), zmq::send_flags::none);
    }
  }
  static json rate(const json& request, double r) {
    return {
        {"ok", true}, {"rate", r}, {"base", request["base"]}, {"currency", request["currency"]}};
  }
  std::vector<json> received;

 private:
  zmq::socket_t socket_;
};

// Ticks `s` (and runs `service` after each tick) until `done` holds or 15 s
// have passed; returns whether `done` held. The bound only keeps a broken
// build from hanging: nothing here asserts on timing.
inline bool run_until(saga& s, const std::function<bool()>& done,
                      const std::function<void()>& service, change_set* changed = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  change_set local;
  change_set& ch = changed != nullptr ? *changed : local;
  while (std::chrono::steady_clock::now() < deadline) {
    s.tick(saga_context{std::chrono::steady_clock::now(), false}, ch);
    service();
    if (done()) return true;
  }
  return false;
}

// Ticks for `n` rounds regardless (to show that nothing more happens).
inline void run_rounds(saga& s, int n, const std::function<void()>& service) {
  change_set ch;
  for (int i = 0; i < n; ++i) {
    s.tick(saga_context{std::chrono::steady_clock::now(), false}, ch);
    service();
  }
}

}  // namespace rill::readmodels::testing
