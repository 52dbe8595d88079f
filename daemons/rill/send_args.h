#pragma once
// `rill send --json '{...}'` versus the global `--json` output flag: before
// parsing, a `--json` of the send subcommand directly followed by a JSON
// object or array (or "-": read it from stdin) is rewritten to
// `--request <value>`; a bare `--json` stays the output flag.
//
// Thread-safety: pure function.
#include <string>
#include <vector>

namespace rill::cli {

// `args` is the whole argv (args[0] = program).
std::vector<std::string> rewrite_send_args(std::vector<std::string> args);

}  // namespace rill::cli
