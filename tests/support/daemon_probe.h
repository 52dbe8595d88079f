#pragma once
// Test support for daemons started by a test: whether one answers `ping`
// (rill-core, rill-notify: {"op": "ping"}), waiting until it does, and
// figures from /proc/PID/status. Header-only.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "tests/support/child_process.h"
#include "transport/client.h"

namespace rill::test {

// True if the daemon at `endpoint` answers {"op": "ping"} with ok within `wait`.
inline bool answers_ping(zmq::context_t& ctx, const std::string& endpoint,
                         std::chrono::milliseconds wait = std::chrono::milliseconds(200)) {
  transport::rpc_client c(ctx, endpoint);
  auto r = c.call({{"op", "ping"}}, wait);
  return r && (*r)["ok"] == true;
}

// Waits until the daemon at `endpoint` answers ping; false after `limit`.
inline bool comes_up(zmq::context_t& ctx, const std::string& endpoint,
                     std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  return eventually([&] { return answers_ping(ctx, endpoint); }, limit);
}

// True when a DEALER without CURVE gets any reply to `req` from `endpoint`
// within `wait`: how a test checks that a tcp:// server refuses plain
// clients (rill's own clients refuse tcp:// without keys, a raw socket does
// not).
inline bool plain_answers(zmq::context_t& ctx, const std::string& endpoint,
                          const nlohmann::json& req, std::chrono::milliseconds wait) {
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(endpoint);
  const auto bytes = nlohmann::json::to_msgpack(req);
  s.send(zmq::message_t(), zmq::send_flags::sndmore);
  s.send(zmq::buffer(bytes), zmq::send_flags::none);
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  return zmq::poll(&item, 1, wait) > 0;
}

// A "<field>: N kB" line of /proc/<pid>/status (VmRSS, RssAnon, ...), in
// KiB; 0 if unreadable.
inline uint64_t proc_status_kib(pid_t pid, std::string_view field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  const std::string prefix = std::string(field) + ":";
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) return std::stoull(line.substr(prefix.size()));
  return 0;
}

}  // namespace rill::test
