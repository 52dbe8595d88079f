// rill down: stop the supervisor of a data directory (and with it every daemon).
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "daemons/rill/child_process.h"
#include "daemons/rill/commands.h"
#include "daemons/rill/process_util.h"
#include "daemons/rill/run_lock.h"
#include "daemons/rill/supervisor_state.h"

namespace rill::cli {

namespace {

int run_down(global_options& g, int64_t timeout_ms) {
  if (timeout_ms <= 0) return usage_error("down", "--timeout-ms must be positive");
  const auto data = g.data_dir();
  auto say = [&](bool was_running, pid_t pid, const std::string& text) {
    if (g.json)
      std::cout << nlohmann::json{{"ok", true},
                                  {"data", data.string()},
                                  {"was_running", was_running},
                                  {"pid", pid},
                                  {"message", text}}
                       .dump()
                << std::endl;
    else
      std::cout << text << std::endl;
  };
  if (auto why = data_dir_denied(data, "run"); !why.empty())
    return report("forbidden", why, exit_refused);  // not "nothing to stop": we cannot tell
  if (!run_lock_busy(lock_file(data))) {
    say(false, 0, "rill is not running for " + data.string() + "; nothing to stop");
    return exit_ok;
  }
  auto pid = read_pid_file(supervisor_pid_file(data));
  if (!pid || !process_alive(*pid)) {
    // rill.pid removed by hand (or stale): supervisor.json also names the
    // supervisor, when it is a live rill for this very directory.
    auto st = read_supervisor_state(supervisor_state_file(data));
    std::error_code e1, e2;
    if (st && st->pid > 0 && process_alive(st->pid) &&
        process_exe_name(st->pid) == process_exe_name(::getpid()) &&
        std::filesystem::weakly_canonical(st->data, e1) ==
            std::filesystem::weakly_canonical(data, e2) &&
        !e1 && !e2)
      pid = st->pid;
  }
  if (!pid || !process_alive(*pid))
    return report("down_failed",
                  "the data directory is locked but " + supervisor_pid_file(data).string() +
                      " names no running supervisor",
                  exit_refused);
  ::kill(*pid, SIGTERM);
  const auto timeout = std::chrono::milliseconds(timeout_ms);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool stopped = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_alive(*pid) && !run_lock_busy(lock_file(data))) {
      stopped = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (stopped) {
    say(true, *pid,
        "rill stopped for " + data.string() + " (supervisor pid " + std::to_string(*pid) + ")");
    return exit_ok;
  }
  // The supervisor did not finish in time: kill it and whatever it left.
  std::cerr << "rill: the supervisor (pid " << *pid << ") did not stop within " << timeout_ms
            << " ms: SIGKILL" << std::endl;
  ::kill(*pid, SIGKILL);
  (void)wait_gone(*pid, std::chrono::milliseconds(2000));
  if (auto st = read_supervisor_state(supervisor_state_file(data))) {
    for (const auto& d : st->daemons) {
      const auto expected = std::filesystem::path(d.binary).filename().string();
      if (d.pid > 0 && process_alive(d.pid) && is_daemon_of(d.pid, expected, data)) {
        std::cerr << "rill: killing " << d.name << " (pid " << d.pid << ")" << std::endl;
        signal_daemon(d.pid, SIGKILL);
        (void)wait_gone(d.pid, std::chrono::milliseconds(2000));
      }
    }
  }
  clear_run_leftovers(data);
  if (!process_alive(*pid) && read_pid_file(supervisor_pid_file(data)) == *pid) {
    std::error_code ec;
    std::filesystem::remove(supervisor_pid_file(data), ec);  // the killed supervisor's
  }
  say(true, *pid, "rill killed for " + data.string() + " (it did not stop cleanly)");
  return exit_refused;
}

}  // namespace

void add_down_command(CLI::App& app, global_options& g) {
  auto timeout_ms = std::make_shared<int64_t>(60000);
  auto* sub =
      app.add_subcommand("down", "Stop rill for the data directory (every daemon, cleanly)");
  add_global_flags(*sub, g);
  sub->add_option("--timeout-ms", *timeout_ms,
                  "How long to wait for a clean stop before SIGKILL (default 60000)");
  sub->callback([&g, timeout_ms] { g.exit = run_down(g, *timeout_ms); });
}

}  // namespace rill::cli
