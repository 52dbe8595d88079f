#pragma once
// Starting one supervised daemon. The child gets its own process group (a
// Ctrl-C on the terminal reaches only the supervisor, which then stops the
// daemons in order), SIGTERM when the supervisor dies (PR_SET_PDEATHSIG, so
// a SIGKILLed supervisor leaves no orphans), default signal handling and
// mask, stdin from /dev/null, and stdout/stderr appended to its log file
// (D/logs/<name>.log), which gets a "---- started" line first.
//
// Thread-safety: call from the supervisor's (single) thread only.
#include <sys/types.h>

#include <string>

#include "daemons/rill/daemon_specs.h"

namespace rill::cli {

// Forks and execs `spec`. Returns the child's pid, or -1 with `error` set
// (fork or log-file failure; an exec failure shows as exit status 127 and a
// line in the daemon's log).
pid_t spawn_daemon(const daemon_spec& spec, std::string& error);

// Sends `sig` to the daemon's process group (falls back to the pid alone).
void signal_daemon(pid_t pid, int sig);

}  // namespace rill::cli
