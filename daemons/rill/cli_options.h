#pragma once
// Options every `rill` subcommand accepts, and the exit codes of the CLI.
//
//   --data D   data directory (default ./rill-data, or $RILL_DATA)
//   --json     machine output: JSON on stdout (one object, or JSON lines)
//   --curve-key FILE     our CURVE key pair (from `rill keys gen`), for tcp://
//                        endpoints; default $RILL_CURVE_KEY
//   --curve-server FILE  the servers' public key; default $RILL_CURVE_SERVER
//
// Exit codes (docs/cli.md): 0 ok; 1 refused (a command or query failed with a
// PROTOCOL.md error code, a check failed, corruption found); 2 usage error;
// 3 rill is not running or does not answer.
//
// Thread-safety: plain data; the CLI is single-threaded.
#include <filesystem>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "transport/security.h"

namespace rill::cli {

enum exit_code : int {
  exit_ok = 0,
  exit_refused = 1,
  exit_usage = 2,
  exit_unreachable = 3,
  exit_interrupted = 130,  // 128 + SIGINT: up --detach stopped by the user
};

struct global_options {
  std::string data = "./rill-data";
  bool json = false;
  std::string curve_key;     // client key pair file (tcp:// endpoints)
  std::string curve_server;  // server public key file (tcp:// endpoints)
  int exit = exit_ok;  // set by the subcommand that ran

  // Takes the default data directory from $RILL_DATA when it is set.
  void from_environment();
  // The data directory as an absolute, normalised path.
  std::filesystem::path data_dir() const;
};

// Adds --data (with $RILL_DATA) and --json to `app` (the main app and every
// subcommand, so that they are accepted anywhere and listed by --help).
void add_global_flags(CLI::App& app, global_options& g);
// Makes every unsigned option of `app` and its subcommands refuse negative
// values (a usage error), which CLI11 would otherwise wrap around: --after -1
// would ask for seq 2^64-1. Call once every subcommand is added.
void reject_negative_unsigned(CLI::App& app);

// The CURVE keys every client socket of the CLI uses for tcp:// endpoints,
// loaded on first use from --curve-key / --curve-server (or the environment);
// nullptr when neither is given. A key file that cannot be read ends the
// process with "rill: bad_key: ..." and exit code 2.
const transport::client_security* client_security();

// Prints "rill: <code>: <message>" on stderr and returns `exit`.
int report(std::string_view code, std::string_view message, int exit);
// Usage error inside a subcommand: "rill: usage: <sub>: <message>" and a
// hint line; returns 2.
int usage_error(std::string_view sub, std::string_view message);
// "rill is not running for D (...)" on stderr; returns 3. When this user
// cannot even look into D/run (data_dir_denied), it says that instead:
// "rill: forbidden: ..." and returns 1 - rill may well be running.
int not_running(const global_options& g, std::string_view detail);
// Why this user cannot use `sub` (run, journal) of the data directory:
// empty when nothing is in the way (or when it simply does not exist), else
// "cannot access D/run: permission denied (owner uid 0, mode 0700; ...)".
// rill keeps D private to its owner, so other users get this.
std::string data_dir_denied(const std::filesystem::path& data, std::string_view sub);

}  // namespace rill::cli
