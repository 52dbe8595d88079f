// rill-rates: a small exchange-rate service standing in for the external
// system of DOMAIN.md's exchange-rates saga. It only wires things together:
// options -> rates_table -> rates_server (one thread, one REP socket).
//
// SIGINT / SIGTERM: clean exit 0 (pid file removed); SIGHUP: reload the
// rates file. All three are blocked in every thread and read from a signalfd.
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include <spdlog/spdlog.h>

#include "daemons/common/exit_codes.h"
#include "daemons/common/pid_file.h"
#include "daemons/rill_rates/options.h"
#include "daemons/rill_rates/rates_server.h"
#include "daemons/rill_rates/rates_table.h"
#include "transport/security.h"
#include "transport/server_socket.h"

namespace {

int run(rill::daemon::rates_options& o, int signal_fd) {
  using namespace rill;
  namespace fs = std::filesystem;
  o.data = fs::absolute(o.data).lexically_normal();
  const fs::path run_dir = o.data / "run";
  try {
    daemon::make_run_dir(o.data, run_dir);
  } catch (const fs::filesystem_error& e) {
    spdlog::critical("rill-rates: cannot create {}: {}", e.path1().string(), e.code().message());
    // A file where D or D/run belongs: every start would fail the same way.
    return e.code() == std::errc::not_a_directory ? daemon::exit_data : daemon::exit_fault;
  }
  // --rates, else the shipped config/rates.json if a copy is found, else
  // the copy of it built into this binary.
  const fs::path rates_file = o.resolved_rates();
  std::string error;
  auto table = rates_file.empty() ? daemon::rates_table::parse(daemon::default_rates_json, error)
                                  : daemon::rates_table::load(rates_file, error);
  if (!table) {
    // A rates file that cannot be used is a refused configuration (exit 2:
    // the supervisor leaves it failed instead of restarting it forever).
    spdlog::critical("rill-rates: {}", error);
    return rill::daemon::exit_config;
  }
  const std::string rates_name =
      rates_file.empty() ? std::string("built in (config/rates.json)") : rates_file.string();
  daemon::pid_file pid;
  if (!pid.acquire(run_dir / "rill-rates.pid", error)) {
    spdlog::critical("rill-rates: {}", error);
    return 1;
  }
  daemon::rates_server_options so;
  so.endpoint = o.resolved_endpoint();
  so.rates_file = rates_file;
  so.delay_ms = o.delay_ms;
  so.fail_every = o.fail_every;
  so.max_request_bytes = o.max_request_bytes;

  zmq::context_t ctx(1);
  std::unique_ptr<transport::server_security> sec;
  std::unique_ptr<transport::zap_handler> zap;
  if (!o.curve_key.empty()) {
    sec = std::make_unique<transport::server_security>();
    sec->server = transport::load_key_file(o.curve_key);
    if (!o.curve_allow.empty()) sec->allowed = transport::load_allow_list(o.curve_allow);
    zap = std::make_unique<transport::zap_handler>(ctx, sec->allowed);
  }
  const size_t currencies = table->size();
  auto server = std::make_unique<daemon::rates_server>(ctx, so, std::move(*table), sec.get());
  spdlog::info(
      "rill-rates up: pid {}, endpoint {}, rates {} ({} currencies), delay {} ms, "
      "fail every {}",
      ::getpid(), so.endpoint, rates_name, currencies, o.delay_ms, o.fail_every);
  server->run(signal_fd);
  server.reset();  // main's bound_ipc_files_guard removes the socket file
  spdlog::info("rill-rates stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  rill::daemon::rates_options o;
  if (int rc = rill::daemon::parse_rates_options(argc, argv, o); rc != 0) return rc < 0 ? 0 : rc;
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  if (::pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) return 1;
  const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    spdlog::critical("rill-rates: signalfd failed");
    return 1;
  }
  const rill::transport::bound_ipc_files_guard unbind;  // also when run() fails
  try {
    const int rc = run(o, sfd);
    ::close(sfd);
    return rc;
  } catch (const rill::transport::bad_endpoint& e) {
    // An endpoint no start can bind: the same every start (not restarted).
    spdlog::critical("rill-rates: {}", e.what());
    ::close(sfd);
    return rill::daemon::exit_config;
  } catch (const rill::transport::security_error& e) {
    // Keys or CURVE configuration: the same every start (not restarted).
    spdlog::critical("rill-rates: {}", e.what());
    ::close(sfd);
    return rill::daemon::exit_config;
  } catch (const std::exception& e) {
    spdlog::critical("rill-rates: {}", e.what());
    ::close(sfd);
    return 1;
  }
}
