#pragma once
// supervisor: the process behind `rill up`. Starts every daemon of a data
// directory, restarts one that dies (capped exponential backoff, logged in
// D/logs/rill.log), records pids, start times and restarts in
// D/run/supervisor.json, and on SIGINT/SIGTERM (and SIGHUP in the
// foreground) stops them cleanly: SIGTERM to the read models, notifier and
// rates service, then to rill-core, each group getting SIGKILL after
// stop_timeout. A second SIGINT/SIGTERM while stopping kills at once. Once
// all are gone it removes their ipc socket files from D/run.
//
// Restart policy: the first restart waits kInitialBackoff, each further one
// twice as long up to kMaxBackoff; a daemon that ran for kStableAfter
// starts again from kInitialBackoff. A daemon that exits with status 2
// (daemons/common/exit_codes.h: its configuration was refused) is not
// restarted: it stays "failed" and the others keep running; when every
// daemon has failed, run() stops and returns 1.
//
// Ownership: the caller holds the data directory's run_lock for the whole
// run(). The supervisor owns its children (their own process groups, killed
// by the kernel with SIGTERM if the supervisor dies).
// Thread-safety: single-threaded; run() blocks SIGCHLD, SIGINT, SIGTERM and
// SIGHUP in the calling thread and reads them from a signalfd. No ZeroMQ.
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "daemons/rill/daemon_specs.h"
#include "daemons/rill/supervisor_log.h"
#include "daemons/rill/supervisor_state.h"

namespace rill::cli {

class supervisor {
 public:
  static constexpr std::chrono::milliseconds kInitialBackoff{200};
  static constexpr std::chrono::milliseconds kMaxBackoff{10000};
  static constexpr std::chrono::seconds kStableAfter{30};

  supervisor(up_options options, std::vector<daemon_spec> specs);

  // Runs until told to stop. `ready_fd` (>= 0 for --detach) receives "ok\n"
  // once every daemon has been started, or "error: ...\n"; it is closed then.
  // Returns the process exit code (0 after a clean stop).
  int run(bool foreground, int ready_fd);

 private:
  enum class state { running, backoff, stopped, failed };
  struct child {
    daemon_spec spec;
    pid_t pid = 0;
    uint64_t started_ns = 0;
    std::chrono::steady_clock::time_point started{};
    std::chrono::steady_clock::time_point next_start{};
    std::chrono::milliseconds backoff{0};
    uint32_t restarts = 0;
    state st = state::stopped;
    std::string last_exit;
  };

  bool prepare(std::string& error);
  void stop_leftovers();
  void start(child& c);
  void reap(bool stopping);
  void start_due();
  bool stop_group(bool core, int signal_fd);
  void save_state(const char* sup_state);
  int wait_timeout_ms() const;

  up_options o_;
  std::vector<child> children_;
  supervisor_log log_;
  uint64_t started_ns_ = 0;
  bool foreground_ = false;
};

}  // namespace rill::cli
