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
