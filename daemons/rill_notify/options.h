#pragma once
// rill-notify's options: one struct, every field with its default and its
// check, validated once at start. Sources, later ones winning: the defaults
// below, a JSON config file (--config: the field names as keys, at the top
// level or in a "notify" section; other daemons' keys are passed over, see
// daemons/common/shared_config.h), flags.
#include <cstdint>
#include <filesystem>
#include <string>

#include "transport/notifier_server.h"

namespace rill::daemon {

struct notify_options {
  std::filesystem::path data = "rill-data";  // data directory D
  std::string notify;                        // ROUTER endpoint; empty = ipc://D/run/notify
  std::string notify_in;                     // PULL endpoint; empty = ipc://D/run/notify-in
  uint64_t expiry_ms = 30'000;           // silent clients are forgotten after this (100 .. 1 day)
  uint64_t client_queue = 1'000;         // notes waiting per client (1 .. 1,000,000)
  uint64_t max_clients = 100'000;        // registered clients (1 .. 10,000,000)
  uint64_t max_watches = 10'000;         // watches per client (1 .. 10,000,000)
  uint64_t max_request_bytes = 1 << 20;  // larger requests: too_large (1 KiB .. 64 MiB)
  uint64_t max_report_keys = 100'000;    // more keys in a report: whole-model change
  uint64_t batch = 1'024;                // requests / reports per loop turn (1 .. 1,000,000)
  std::string curve_key;                 // server CURVE key file (needed for tcp://)
  std::string curve_allow;               // allow-list of client public keys (tcp://)
  std::string log_level = "info";        // trace, debug, info, warn, error

  // The server's options for these settings (endpoints resolved).
  transport::notifier_server_options server() const;
};

// Parses flags (and --config FILE) into `out`. Returns 0 to go on, -1 after
// --help (exit 0), or 2 on a usage error (the message printed).
int parse_notify_options(int argc, char** argv, notify_options& out);

}  // namespace rill::daemon
