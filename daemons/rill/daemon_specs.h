#pragma once
// What `rill up` starts for a data directory: rill-core, one rill-proj per
// read model, rill-notify and rill-rates, each with its command line, log
// file (D/logs/<name>.log) and pid file (D/run/<name>.pid, written by the
// daemon itself). The binaries are looked up next to the `rill` executable.
//
// Thread-safety: pure functions.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "transport/endpoints.h"

namespace rill::cli {

enum class daemon_kind { core, proj, notify, rates };

struct daemon_spec {
  std::string name;  // "rill-core", "rill-proj-orders", ...
  daemon_kind kind = daemon_kind::core;
  std::string model;               // the hosted model (proj only)
  std::filesystem::path binary;    // absolute path of the executable
  std::vector<std::string> args;   // arguments after argv[0]
  std::filesystem::path log;       // stdout and stderr go here (appended)
  std::filesystem::path pid_file;  // written by the daemon
};

struct up_options {
  std::filesystem::path data;     // absolute
  std::string schema;             // empty: the default domain
  std::string sync;               // empty: rill-core's default
  std::string config;             // empty: none; passed to every daemon
  std::filesystem::path bin_dir;  // where rill-core & co. live
  bool detach = false;
  std::chrono::milliseconds ready_timeout{30000};  // --detach: wait for every daemon
  std::chrono::milliseconds stop_timeout{10000};   // SIGTERM -> SIGKILL
};

// The daemons for `o`, in start order (rill-core first).
std::vector<daemon_spec> make_daemon_specs(const up_options& o);
// The endpoints `rill up` writes to D/run/endpoints.json.
transport::endpoints make_endpoints(const std::filesystem::path& data);
// ipc://D/run/rates: rill-rates' REP endpoint (not part of endpoints.json).
std::string rates_endpoint(const std::filesystem::path& data);
// "" when `binary` is an executable file, else what is wrong with it, the
// file named: "rill-core not found next to rill (looked for PATH)", "... is not an
// executable file (PATH)" (a daemon that cannot be executed would exit 127
// and be restarted for ever).
std::string binary_problem(const std::filesystem::path& binary);
// The directory holding the running `rill` executable.
std::filesystem::path self_bin_dir();
// none | batch | interval:MS (MS a positive integer).
bool valid_sync_mode(const std::string& s);
const char* kind_name(daemon_kind k);

}  // namespace rill::cli
