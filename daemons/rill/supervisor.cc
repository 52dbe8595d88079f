#include "daemons/rill/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <thread>

#include "daemons/common/exit_codes.h"
#include "daemons/rill/child_process.h"
#include "daemons/rill/process_util.h"
#include "daemons/rill/run_lock.h"
#include "transport/endpoints.h"

namespace rill::cli {

namespace {

using steady = std::chrono::steady_clock;

std::string ms_text(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

// Reads every pending signal from the signalfd. Sets `stop` for a stop
// request; returns true if one arrived.
bool drain_signals(int sfd, bool foreground, bool& stop, supervisor_log& log) {
  bool stop_request = false;
  signalfd_siginfo si{};
  while (::read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    switch (si.ssi_signo) {
      case SIGINT:
      case SIGTERM:
        stop_request = true;
        break;
      case SIGHUP:
        if (foreground)
          stop_request = true;
        else
          log.line("ignoring SIGHUP");
        break;
      default:
        break;  // SIGCHLD: the caller reaps
    }
  }
  if (stop_request) stop = true;
  return stop_request;
}

}  // namespace

supervisor::supervisor(up_options options, std::vector<daemon_spec> specs)
    : o_(std::move(options)) {
  for (auto& s : specs) {
    child c;
    c.spec = std::move(s);
    children_.push_back(std::move(c));
  }
}

void supervisor::save_state(const char* sup_state) {
  supervisor_record r;
  r.pid = ::getpid();
  r.started_ns = started_ns_;
  r.data = o_.data.string();
  r.state = sup_state;
  for (const auto& c : children_) {
    daemon_record d;
    d.name = c.spec.name;
    d.kind = kind_name(c.spec.kind);
    d.model = c.spec.model;
    d.pid = c.pid;
    d.started_ns = c.pid > 0 ? c.started_ns : 0;
    d.restarts = c.restarts;
    d.state = c.st == state::running   ? "running"
              : c.st == state::backoff ? "backoff"
              : c.st == state::failed  ? "failed"
                                       : "stopped";
    d.last_exit = c.last_exit;
    d.log = c.spec.log.string();
    d.binary = c.spec.binary.string();
    r.daemons.push_back(std::move(d));
  }
  if (!write_supervisor_state(supervisor_state_file(o_.data), r))
    log_.line("warning: cannot write " + supervisor_state_file(o_.data).string());
}

void supervisor::stop_leftovers() {
  auto old = read_supervisor_state(supervisor_state_file(o_.data));
  if (!old) return;
  std::vector<std::pair<pid_t, std::string>> left;
  for (const auto& d : old->daemons) {
    if (d.pid <= 0 || d.pid == ::getpid() || !process_alive(d.pid)) continue;
    // Only a daemon of this D: a copied data directory (or a stale file)
    // names the pids of another rill's daemons, or pids reused since.
    const auto expected = std::filesystem::path(d.binary).filename().string();
    if (!is_daemon_of(d.pid, expected, o_.data)) continue;
    log_.line("stopping leftover " + d.name + " (pid " + std::to_string(d.pid) +
              ") of a previous supervisor (pid " + std::to_string(old->pid) + ")");
    signal_daemon(d.pid, SIGTERM);
    left.emplace_back(d.pid, d.name);
  }
  const auto deadline = steady::now() + o_.stop_timeout;
  for (const auto& [pid, name] : left) {
    auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    if (!wait_gone(pid, std::max(remaining, std::chrono::milliseconds(0)))) {
      log_.line("leftover " + name + " (pid " + std::to_string(pid) + ") ignored SIGTERM: SIGKILL");
      signal_daemon(pid, SIGKILL);
      (void)wait_gone(pid, std::chrono::milliseconds(2000));
    }
  }
}

bool supervisor::prepare(std::string& error) {
  for (const auto& c : children_)
    if (error = binary_problem(c.spec.binary); !error.empty()) return false;
  stop_leftovers();
  clear_run_leftovers(o_.data);  // of daemons killed with the last supervisor
  try {
    transport::write_endpoints_json(transport::run_dir(o_.data) / "endpoints.json",
                                    make_endpoints(o_.data));
  } catch (const std::exception& e) {
    error = std::string("cannot write endpoints.json: ") + e.what();
    return false;
  }
  if (!write_pid_file(supervisor_pid_file(o_.data), ::getpid())) {
    error = "cannot write " + supervisor_pid_file(o_.data).string();
    return false;
  }
  return true;
}

void supervisor::start(child& c) {
  const bool restart = c.st == state::backoff;
  std::string error;
  pid_t pid = spawn_daemon(c.spec, error);
  const auto now = steady::now();
  if (restart) ++c.restarts;
  if (pid < 0) {
    c.backoff = c.backoff.count() == 0 ? kInitialBackoff : std::min(c.backoff * 2, kMaxBackoff);
    c.st = state::backoff;
    c.next_start = now + c.backoff;
    c.last_exit = "could not start: " + error;
    log_.line("cannot start " + c.spec.name + ": " + error + "; retrying in " + ms_text(c.backoff));
    return;
  }
  c.pid = pid;
  c.started = now;
  c.started_ns = now_ns();
  c.st = state::running;
  if (restart)
    log_.line("restarted " + c.spec.name + " (pid " + std::to_string(pid) + ", restart #" +
              std::to_string(c.restarts) + ")");
  else
    log_.line("started " + c.spec.name + " (pid " + std::to_string(pid) + ")");
}

void supervisor::reap(bool stopping) {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    auto it = std::find_if(children_.begin(), children_.end(),
                           [pid](const child& c) { return c.pid == pid; });
    if (it == children_.end()) continue;
    child& c = *it;
    const auto now = steady::now();
    const auto ran = now - c.started;
    c.pid = 0;
    c.last_exit = describe_wait_status(status);
    if (stopping) {
      c.st = state::stopped;
      log_.line(c.spec.name + " (pid " + std::to_string(pid) + ") " + c.last_exit);
      continue;
    }
    if (WIFEXITED(status) && daemon::restart_cannot_cure(WEXITSTATUS(status))) {
      // Its flags, config file or schema were refused, or its journal is
      // corrupt: the same start would fail the same way every time.
      c.st = state::failed;
      const bool data = WEXITSTATUS(status) == daemon::exit_data;
      log_.line(
          c.spec.name + " (pid " + std::to_string(pid) + ") " + c.last_exit + " after " +
          format_duration(ran) +
          (data ? ": its data needs an operator (a journal corrupt before its tail, or a file "
                  "where a directory belongs); not restarting it (see " +
                      c.spec.log.string() +
                      ", and for the journal 'rill journal verify' and 'rill "
                      "journal truncate')"
                : ": its configuration was refused; not restarting it (see " + c.spec.log.string() +
                      ", fix the configuration and run `rill up` again)"));
      save_state("running");
      continue;
    }
    if (ran >= kStableAfter || c.backoff.count() == 0)
      c.backoff = kInitialBackoff;
    else
      c.backoff = std::min(c.backoff * 2, kMaxBackoff);
    c.st = state::backoff;
    c.next_start = now + c.backoff;
    log_.line(c.spec.name + " (pid " + std::to_string(pid) + ") " + c.last_exit + " after " +
              format_duration(ran) + "; restarting in " + ms_text(c.backoff) + " (see " +
              c.spec.log.string() + ")");
    save_state("running");
  }
}

void supervisor::start_due() {
  const auto now = steady::now();
  bool changed = false;
  for (auto& c : children_) {
    if (c.st == state::backoff && c.next_start <= now) {
      start(c);
      changed = true;
    }
  }
  if (changed) save_state("running");
}

int supervisor::wait_timeout_ms() const {
  int best = -1;
  const auto now = steady::now();
  for (const auto& c : children_) {
    if (c.st != state::backoff) continue;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(c.next_start - now).count() + 1;
    int v = static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
    if (best < 0 || v < best) best = v;
  }
  return best;
}

bool supervisor::stop_group(bool core, int sfd) {
  auto in_group = [core](const child& c) { return (c.spec.kind == daemon_kind::core) == core; };
  for (auto& c : children_)
    if (in_group(c) && c.st == state::backoff) c.st = state::stopped;
  bool any = false;
  for (auto& c : children_) {
    if (!in_group(c) || c.pid <= 0) continue;
    signal_daemon(c.pid, SIGTERM);
    any = true;
  }
  if (!any) return false;
  const auto deadline = steady::now() + o_.stop_timeout;
  bool force = false, killed = false, ignored = false;
  for (;;) {
    reap(true);
    bool alive = std::any_of(children_.begin(), children_.end(),
                             [&](const child& c) { return in_group(c) && c.pid > 0; });
    if (!alive) break;
    if (!killed && (force || steady::now() >= deadline)) {
      for (auto& c : children_) {
        if (!in_group(c) || c.pid <= 0) continue;
        log_.line(
            c.spec.name + " (pid " + std::to_string(c.pid) + ") " +
            (force ? "killed on request" : "did not stop within " + ms_text(o_.stop_timeout)) +
            ": SIGKILL");
        signal_daemon(c.pid, SIGKILL);
      }
      killed = true;
    }
    pollfd p{sfd, POLLIN, 0};
    ::poll(&p, 1, 50);
    bool dummy = false;
    if (drain_signals(sfd, foreground_, dummy, log_)) force = true;
    if (killed && steady::now() >= deadline + std::chrono::seconds(5) && !ignored) {
      log_.line("warning: some daemons survived SIGKILL (uninterruptible I/O?); giving up on them");
      ignored = true;
      break;
    }
  }
  return killed;
}

int supervisor::run(bool foreground, int ready_fd) {
  foreground_ = foreground;
  started_ns_ = now_ns();
  auto tell = [&](const std::string& msg) {
    if (ready_fd < 0) return;
    ssize_t w = ::write(ready_fd, msg.data(), msg.size());
    (void)w;
    ::close(ready_fd);
    ready_fd = -1;
  };

  sigset_t set;
  ::sigemptyset(&set);
  for (int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) ::sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  int sfd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    std::string e = std::string("signalfd: ") + ::strerror(errno);
    tell("error: " + e + "\n");
    return 1;
  }

  if (!log_.open(o_.data / "logs" / "rill.log", foreground))
    ::fprintf(stderr, "rill: warning: cannot open %s\n", (o_.data / "logs" / "rill.log").c_str());
  log_.line("supervisor (pid " + std::to_string(::getpid()) + ") starting for " + o_.data.string());
  std::string error;
  if (!prepare(error)) {
    log_.line("cannot start: " + error);
    tell("error: " + error + "\n");
    ::close(sfd);
    return 1;
  }
  save_state("starting");
  for (auto& c : children_) start(c);
  save_state("running");
  tell("ok\n");

  bool stop = false;
  int exit_code = 0;
  while (!stop) {
    pollfd p{sfd, POLLIN, 0};
    int rc = ::poll(&p, 1, wait_timeout_ms());
    if (rc < 0 && errno != EINTR) {
      log_.line(std::string("poll: ") + ::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    drain_signals(sfd, foreground, stop, log_);
    reap(false);
    if (!stop) start_due();
    if (!stop && std::all_of(children_.begin(), children_.end(),
                             [](const child& c) { return c.st == state::failed; })) {
      log_.line("every daemon refused its configuration: nothing left to supervise");
      exit_code = 1;
      stop = true;
    }
  }

  log_.line("stopping (SIGTERM to every daemon, SIGKILL after " + ms_text(o_.stop_timeout) + ")");
  save_state("stopping");
  bool killed = stop_group(false, sfd);
  killed = stop_group(true, sfd) || killed;
  // What killed daemons could not remove (their sockets, pid and lock
  // files): those it killed now, and one that failed after a kill -9 from
  // outside. Clients then hear "not running" at once.
  clear_run_leftovers(o_.data);
  save_state("stopped");
  ::unlink(supervisor_pid_file(o_.data).c_str());
  log_.line(killed ? "stopped (some daemons had to be killed)" : "stopped");
  ::close(sfd);
  return exit_code;
}

}  // namespace rill::cli
