#pragma once
// `rill up --detach`: daemonizes the supervisor (fork, setsid, fork) and
// returns once every daemon answers, or fails with the logs' tails and stops
// what it started.
//
// Ownership: takes the already-acquired run_lock; the detached supervisor
// keeps the lock (inherited descriptor), this process only closes its copy.
// Thread-safety: call before any thread or ZeroMQ context exists (it forks).
#include <vector>

#include "daemons/rill/cli_options.h"
#include "daemons/rill/daemon_specs.h"
#include "daemons/rill/run_lock.h"

namespace rill::cli {

int run_detached(const global_options& g, const up_options& o, std::vector<daemon_spec> specs,
                 run_lock& lock);

// Waits until every daemon in `specs` answers its status request (or the
// supervisor `supervisor_pid` dies, or D/run/supervisor.json shows a daemon
// "failed" - its configuration refused, never restarted -, or the timeout
// passes). Names of those that did not answer are returned in `silent`,
// those that failed in `failed`. True when all answered.
bool wait_until_ready(const std::filesystem::path& data, const std::vector<daemon_spec>& specs,
                      pid_t supervisor_pid, std::chrono::milliseconds timeout,
                      std::vector<std::string>& silent, std::vector<std::string>& failed);

}  // namespace rill::cli
