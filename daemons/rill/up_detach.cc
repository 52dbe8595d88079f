#include "daemons/rill/up_detach.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemons/rill/probe.h"
#include "daemons/rill/process_util.h"
#include "daemons/rill/run_lock.h"
#include "daemons/rill/supervisor.h"

namespace rill::cli {

namespace {

// Set by SIGINT / SIGTERM / SIGHUP while `up --detach` waits for the daemons:
// it then stops what it started instead of leaving rill running unseen.
volatile sig_atomic_t g_interrupted = 0;
void on_interrupt(int) {
  g_interrupted = 1;
}

// Reads the supervisor's handshake line ("ok" / "error: ...") from `fd`.
std::string read_handshake(int fd, std::chrono::milliseconds timeout) {
  std::string msg;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return msg;
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (g_interrupted) return msg;
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return msg;
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return msg;  // EOF: the supervisor closed (or died)
    msg.append(buf, static_cast<size_t>(n));
    if (msg.find('\n') != std::string::npos) return msg.substr(0, msg.find('\n'));
  }
}

void print_log_tails(const std::filesystem::path& data, const std::vector<daemon_spec>& specs,
                     const std::vector<std::string>& names) {
  auto show = [](const std::filesystem::path& f) {
    auto t = tail_file(f, 15);
    if (t.empty()) return;
    std::cerr << "---- last lines of " << f.string() << ":\n" << t;
  };
  show(data / "logs" / "rill.log");
  for (const auto& s : specs)
    for (const auto& n : names)
      if (s.name == n) show(s.log);
}

}  // namespace

bool wait_until_ready(const std::filesystem::path& data, const std::vector<daemon_spec>& specs,
                      pid_t supervisor_pid, std::chrono::milliseconds timeout,
                      std::vector<std::string>& silent, std::vector<std::string>& failed) {
  zmq::context_t ctx;
  failed.clear();
  std::vector<bool> ready(specs.size(), false);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::vector<probe_target> targets;
    std::vector<size_t> which;
    for (size_t i = 0; i < specs.size(); ++i) {
      if (ready[i]) continue;
      targets.push_back(status_target(data, specs[i].name, specs[i].kind, specs[i].model));
      which.push_back(i);
    }
    if (targets.empty()) break;
    auto results = probe_all(ctx, targets, std::chrono::milliseconds(300));
    for (size_t k = 0; k < results.size(); ++k)
      if (results[k].answered) ready[which[k]] = true;
    if (std::all_of(ready.begin(), ready.end(), [](bool b) { return b; })) break;
    // The supervisor stops by itself once every daemon has failed: the
    // state it leaves says why, so it is read before asking whether the
    // supervisor is still alive.
    const bool supervisor_gone = supervisor_pid > 0 && !process_alive(supervisor_pid);
    if (auto st = read_supervisor_state(supervisor_state_file(data))) {
      for (const auto& d : st->daemons)
        if (d.state == "failed") failed.push_back(d.name);
      if (!failed.empty()) break;
    }
    if (supervisor_gone || g_interrupted) break;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  silent.clear();
  for (size_t i = 0; i < specs.size(); ++i)
    if (!ready[i]) silent.push_back(specs[i].name);
  return silent.empty();
}

int run_detached(const global_options& g, const up_options& o, std::vector<daemon_spec> specs,
                 run_lock& lock) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0)
    return report("internal", std::string("pipe: ") + ::strerror(errno), exit_refused);
  std::cout.flush();
  std::cerr.flush();
  pid_t pid = ::fork();
  if (pid < 0) return report("internal", std::string("fork: ") + ::strerror(errno), exit_refused);
  if (pid == 0) {
    ::close(p[0]);
    ::setsid();
    pid_t pid2 = ::fork();
    if (pid2 != 0) ::_exit(pid2 < 0 ? 1 : 0);
    // The detached supervisor: no terminal, output into D/logs/rill.log.
    if (::chdir("/") != 0) ::_exit(1);
    int null_fd = ::open("/dev/null", O_RDWR);
    int log_fd =
        ::open((o.data / "logs" / "rill.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
    }
    if (null_fd > STDERR_FILENO) ::close(null_fd);
    if (log_fd > STDERR_FILENO) ::close(log_fd);
    int rc;
    {
      supervisor sup(o, std::move(specs));
      rc = sup.run(false, p[1]);
    }
    lock.close();
    ::_exit(rc);
  }
  ::close(p[1]);
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  // `rill up --detach | head`: a write to a closed pipe must not kill us
  // before we stop what we started (the supervisor, forked above, keeps the
  // default).
  ::signal(SIGPIPE, SIG_IGN);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string hello = read_handshake(p[0], std::chrono::milliseconds(15000));
  ::close(p[0]);
  lock.close();  // the supervisor holds the lock now
  const auto stop_supervisor = [&](pid_t sup) {
    if (sup <= 0 || !process_alive(sup)) return;
    std::cerr << "rill: stopping what was started" << std::endl;
    ::kill(sup, SIGTERM);
    if (!wait_gone(sup, o.stop_timeout * 2 + std::chrono::seconds(5))) ::kill(sup, SIGKILL);
  };
  const auto interrupted = [&] {
    report("interrupted", "rill up was interrupted while waiting for the daemons", exit_refused);
    // The handshake may not have come yet: the pid file names the supervisor.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    pid_t sup = 0;
    while ((sup = read_pid_file(supervisor_pid_file(o.data)).value_or(0)) <= 0 &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stop_supervisor(sup);
    return exit_interrupted;
  };
  if (g_interrupted) return interrupted();
  if (hello != "ok") {
    std::string why = hello.rfind("error: ", 0) == 0 ? hello.substr(7)
                      : hello.empty() ? "the supervisor exited before starting the daemons"
                                      : hello;
    report("start_failed", why, exit_refused);
    print_log_tails(o.data, specs, {});
    return exit_refused;
  }
  auto sup_pid = read_pid_file(supervisor_pid_file(o.data)).value_or(0);
  std::vector<std::string> silent, failed;
  const bool ready = wait_until_ready(o.data, specs, sup_pid, o.ready_timeout, silent, failed);
  if (g_interrupted) return interrupted();
  if (ready) {
    if (g.json) {
      nlohmann::json names = nlohmann::json::array();
      for (const auto& s : specs) names.push_back(s.name);
      std::cout << nlohmann::json{{"ok", true},
                                  {"data", o.data.string()},
                                  {"pid", sup_pid},
                                  {"daemons", names},
                                  {"logs", (o.data / "logs").string()}}
                       .dump()
                << std::endl;
    } else {
      std::cout << "rill is up for " << o.data.string() << ": " << specs.size()
                << " daemons answering (supervisor pid " << sup_pid << ", logs in "
                << (o.data / "logs").string() << ")" << std::endl;
    }
    return exit_ok;
  }
  auto joined = [](const std::vector<std::string>& names) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    return list;
  };
  const std::string list = joined(silent);
  const bool died = sup_pid > 0 && !process_alive(sup_pid);
  if (!failed.empty()) {
    // Each with what refused it: its configuration (exit 2) or its data (3).
    std::string what;
    const auto st = read_supervisor_state(supervisor_state_file(o.data));
    for (const auto& name : failed) {
      std::string last;
      if (st)
        for (const auto& d : st->daemons)
          if (d.name == name) last = d.last_exit;
      const std::string why = last == "exited with status 2"   ? "refused its configuration"
                              : last == "exited with status 3" ? "refused its data"
                                                               : "failed";
      what += (what.empty() ? "" : "; ") + name + " " + why +
              (last.empty() ? std::string() : " (" + last + ")");
    }
    report("start_failed", what + "; not restarted, see the log below", exit_refused);
  } else
    report("start_failed",
           died ? "the supervisor died while starting (" + list + " not answering)"
                : "not answering after " + std::to_string(o.ready_timeout.count()) + " ms: " + list,
           exit_refused);
  print_log_tails(o.data, specs, failed.empty() ? silent : failed);
  stop_supervisor(sup_pid);
  return exit_refused;
}

}  // namespace rill::cli
