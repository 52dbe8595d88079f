#pragma once
// D/run/supervisor.json: what the supervisor knows about its daemons, for
// `rill status` and `rill down`. Rewritten atomically (temp + rename) on
// every change; readers never see a partial file.
//
//   {"pid": <supervisor pid>, "started_ns": <ns>, "data": "<D>",
//    "state": "starting" | "running" | "stopping" | "stopped",
//    "daemons": [{"name": "rill-core", "kind": "core", "model": "",
//                 "pid": <pid or 0>, "started_ns": <ns or 0>, "restarts": <n>,
//                 "state": "running" | "backoff" | "stopped" | "failed",
//                 "last_exit": "<how it last ended>", "log": "<file>",
//                 "binary": "<file>"}, ...]}
//
// Thread-safety: plain data and pure functions.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace rill::cli {

struct daemon_record {
  std::string name, kind, model;
  pid_t pid = 0;
  uint64_t started_ns = 0;
  uint32_t restarts = 0;
  std::string state = "stopped";
  std::string last_exit;
  std::string log, binary;
};

struct supervisor_record {
  pid_t pid = 0;
  uint64_t started_ns = 0;
  std::string data;
  std::string state = "starting";
  std::vector<daemon_record> daemons;
};

// False if the file could not be written.
bool write_supervisor_state(const std::filesystem::path& file, const supervisor_record& r);
// nullopt if absent or malformed.
std::optional<supervisor_record> read_supervisor_state(const std::filesystem::path& file);

}  // namespace rill::cli
