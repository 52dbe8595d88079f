#pragma once
// Endpoint names of PROTOCOL.md "Endpoints" and D/run/endpoints.json.
//
//   ipc://D/run/command   ROUTER  rill-core     commands and admin requests
//   ipc://D/run/events    PUB     rill-core     live event feed
//   ipc://D/run/replay    ROUTER  rill-core     stored events
//   ipc://D/run/model.<n> ROUTER  rill-proj     queries of read model <n>
//   ipc://D/run/notify    ROUTER  rill-notify   watch / unwatch / notes
//   ipc://D/run/notify-in PULL    rill-notify   change reports from read models
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace rill::transport {

struct endpoints {
  std::string command, events, replay, notify, notify_in;
  std::map<std::string, std::string> models;  // model name -> endpoint
};

// The default ipc endpoints for data directory `data` (made absolute).
endpoints default_endpoints(const std::filesystem::path& data);
std::string default_model_endpoint(const std::filesystem::path& data, const std::string& model);
std::filesystem::path run_dir(const std::filesystem::path& data);

// Longest path an ipc:// endpoint may have: a Unix socket's sun_path holds
// 108 bytes with the terminating zero.
inline constexpr size_t kMaxIpcPath = 107;
// Why endpoint `ep` cannot be bound or connected to by a daemon ("" when it
// can): not ipc:// or tcp://, an ipc:// path empty or longer than
// kMaxIpcPath, a tcp:// port outside 1..65535, or inproc:// (which only
// sockets of the same process reach).
std::string endpoint_problem(const std::string& ep);
// The first problem among every endpoint of `e`, or "".
std::string endpoints_problem(const endpoints& e);

// Writes `e` as JSON atomically (temp file + rename). Throws on I/O error.
void write_endpoints_json(const std::filesystem::path& file, const endpoints& e);
// A D/run/endpoints.json that exists but cannot be used: unreadable, not
// JSON, a field of the wrong type, an endpoint that is not ipc:// or tcp://.
struct endpoints_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Reads D/run/endpoints.json; nullopt if absent. Throws endpoints_error when
// it exists and is not a valid endpoints file.
std::optional<endpoints> read_endpoints_json(const std::filesystem::path& file);
// The endpoints for `data`: endpoints.json if present, else the defaults.
// Throws endpoints_error (above).
endpoints discover_endpoints(const std::filesystem::path& data);

}  // namespace rill::transport
