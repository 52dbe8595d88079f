#pragma once
// Options every `rill` subcommand accepts, and the exit codes of the CLI.
//
//   --data D   data directory (default ./rill-data, or $RILL_DATA)
//   --json     machine output: JSON on stdout (one object, or JSON lines)
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

namespace rill::cli {

enum exit_code : int {
  exit_ok = 0,
  exit_refused = 1,
  exit_usage = 2,
  exit_unreachable = 3,
};

struct global_options {
  std::string data = "./rill-data";
  bool json = false;
  int exit = exit_ok;  // set by the subcommand that ran

  // Takes the default data directory from $RILL_DATA when it is set.
  void from_environment();
  // The data directory as an absolute, normalised path.
  std::filesystem::path data_dir() const;
};

// Adds --data (with $RILL_DATA) and --json to `app` (the main app and every
// subcommand, so that they are accepted anywhere and listed by --help).
void add_global_flags(CLI::App& app, global_options& g);

// Prints "rill: <code>: <message>" on stderr and returns `exit`.
int report(std::string_view code, std::string_view message, int exit);
// Usage error inside a subcommand: "rill <sub>: <message>" + hint; returns 2.
int usage_error(std::string_view sub, std::string_view message);
// "rill is not running for D (...)" on stderr; returns 3.
int not_running(const global_options& g, std::string_view detail);

}  // namespace rill::cli
