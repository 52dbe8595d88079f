// rill-notify: the change notifier daemon (DESIGN.md "Processes",
// PROTOCOL.md "Change notification"). It only wires the library together:
// options -> transport::notifier_server, one thread owning both sockets.
//
// SIGINT / SIGTERM / SIGHUP: clean exit 0 (pid file removed). They are blocked in
// every thread and read from a signalfd that the server's poll watches.
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>

#include <spdlog/spdlog.h>

#include "daemons/common/exit_codes.h"
#include "daemons/common/pid_file.h"
#include "daemons/rill_notify/options.h"
#include "transport/notifier_server.h"
#include "transport/security.h"
#include "transport/server_socket.h"

namespace {

// Every client connection is a file descriptor: take all the kernel allows.
void raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int run(rill::daemon::notify_options& o, int signal_fd) {
  using namespace rill;
  namespace fs = std::filesystem;
  o.data = fs::absolute(o.data).lexically_normal();
  const fs::path run_dir = o.data / "run";
  try {
    daemon::make_run_dir(o.data, run_dir);
  } catch (const fs::filesystem_error& e) {
    spdlog::critical("rill-notify: cannot create {}: {}", e.path1().string(), e.code().message());
    // A file where D or D/run belongs: every start would fail the same way.
    return e.code() == std::errc::not_a_directory ? daemon::exit_data : daemon::exit_fault;
  }
  daemon::pid_file pid;
  std::string error;
  if (!pid.acquire(run_dir / "rill-notify.pid", error)) {
    spdlog::critical("rill-notify: {}", error);
    return 1;
  }
  auto opt = o.server();
  opt.log = [](transport::log_level l, const std::string& text) {
    if (l == transport::log_level::warn) {
      spdlog::warn("rill-notify: {}", text);
    } else {
      spdlog::info("rill-notify: {}", text);
    }
  };

  zmq::context_t ctx(1);
  std::unique_ptr<transport::server_security> sec;
  std::unique_ptr<transport::zap_handler> zap;
  if (!o.curve_key.empty()) {
    sec = std::make_unique<transport::server_security>();
    sec->server = transport::load_key_file(o.curve_key);
    if (!o.curve_allow.empty()) sec->allowed = transport::load_allow_list(o.curve_allow);
    zap = std::make_unique<transport::zap_handler>(ctx, sec->allowed);
  }
  auto server_ptr = std::make_unique<transport::notifier_server>(ctx, opt, sec.get());
  auto& server = *server_ptr;
  spdlog::info("rill-notify up: pid {}, notify {}, notify-in {}, expiry {} ms, client queue {}",
               ::getpid(), opt.notify_endpoint, opt.notify_in_endpoint, o.expiry_ms,
               o.client_queue);
  std::atomic<bool> stop{false};
  server.run(stop, signal_fd);
  signalfd_siginfo si{};
  if (::read(signal_fd, &si, sizeof si) == static_cast<ssize_t>(sizeof si))
    spdlog::info("rill-notify: signal {}, stopping", si.ssi_signo);
  const auto& s = server.registry().stats();
  spdlog::info("rill-notify stopped: {} clients, {} reports, {} notes sent, {} dropped",
               server.registry().clients(), s.reports, s.notes_sent, s.notes_dropped);
  server_ptr.reset();  // main's bound_ipc_files_guard removes the socket files
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  rill::daemon::notify_options o;
  if (int rc = rill::daemon::parse_notify_options(argc, argv, o); rc != 0) return rc < 0 ? 0 : rc;
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  raise_fd_limit();
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);  // a closed terminal: a clean stop, not a kill
  if (::pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) return 1;
  const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    spdlog::critical("rill-notify: signalfd failed");
    return 1;
  }
  const rill::transport::bound_ipc_files_guard unbind;  // also when run() fails
  try {
    const int rc = run(o, sfd);
    ::close(sfd);
    return rc;
  } catch (const rill::transport::bad_endpoint& e) {
    // An endpoint no start can bind: the same every start (not restarted).
    spdlog::critical("rill-notify: {}", e.what());
    ::close(sfd);
    return rill::daemon::exit_config;
  } catch (const rill::transport::security_error& e) {
    // Keys or CURVE configuration: the same every start (not restarted).
    spdlog::critical("rill-notify: {}", e.what());
    ::close(sfd);
    return rill::daemon::exit_config;
  } catch (const std::exception& e) {
    spdlog::critical("rill-notify: {}", e.what());
    ::close(sfd);
    return 1;
  }
}
