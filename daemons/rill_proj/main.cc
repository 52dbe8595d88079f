// rill-proj: the projection daemon (DESIGN.md "rill-proj"). It only wires
// the library together: options -> models -> readmodels::runtime.
//
// Exit codes: 0 after SIGINT/SIGTERM (final snapshots written, pid file
// removed), 1 when it cannot start or stops on a fatal error, 2 for a usage
// error (bad flag or config, unknown model name).
//
// SIGINT / SIGTERM / SIGHUP are blocked in every thread and taken by a small signal
// thread (sigtimedwait) that asks the runtime to stop.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <memory>
#include <vector>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <thread>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "daemons/common/exit_codes.h"
#include "daemons/common/pid_file.h"
#include "daemons/rill_proj/hosted_models.h"
#include "daemons/rill_proj/options.h"
#include "readmodels/runtime.h"
#include "transport/endpoints.h"
#include "transport/security.h"
#include "transport/server_socket.h"

namespace {

namespace fs = std::filesystem;
using rill::proj::proj_options;

std::string joined(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

void setup_logging(const proj_options& o) {
  auto logger = spdlog::stderr_logger_mt("rill-proj");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e [rill-proj " + joined(o.models, "+") + "] %l: %v");
  logger->set_level(spdlog::level::from_str(o.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

int run(proj_options& o, const sigset_t& signals) {
  using namespace rill;
  o.rt.data_dir = fs::absolute(o.rt.data_dir).lexically_normal();
  const fs::path run_dir = transport::run_dir(o.rt.data_dir);
  try {
    daemon::make_run_dir(o.rt.data_dir, run_dir);
  } catch (const fs::filesystem_error& e) {
    spdlog::critical("cannot create {}: {}", e.path1().string(), e.code().message());
    // A file where D or D/run belongs: every start would fail the same way.
    return e.code() == std::errc::not_a_directory ? rill::daemon::exit_data : 1;
  }

  // Settings for a model rill does not have are a misspelt name, not
  // something to ignore (domain.md: unknown settings are an error at start).
  for (const auto& [name, settings] : o.model_settings.items()) {
    const auto known = proj::hosted_model_names();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      spdlog::critical("config: models.{}: there is no read model of that name (known: {})", name,
                       joined(known, ", "));
      return rill::daemon::exit_config;
    }
  }

  // Our CURVE keys as a client (tcp:// events, replay, notify-in, and the
  // sagas' rill-core and rates endpoints). A tcp:// endpoint without them is
  // refused here: rill-proj never sends or reads anything unencrypted there.
  std::shared_ptr<const transport::client_security> client_keys;
  try {
    if (!o.rt.curve_key_file.empty() && !o.rt.curve_server_key_file.empty()) {
      client_keys = std::make_shared<const transport::client_security>(
          transport::load_client_security(o.rt.curve_key_file, o.rt.curve_server_key_file));
    }
    for (const std::string* ep :
         {&o.rt.events_endpoint, &o.rt.replay_endpoint, &o.rt.notify_in_endpoint})
      transport::require_client_keys(*ep, client_keys.get());
  } catch (const transport::security_error& e) {
    spdlog::critical("cannot start: {} (--curve-key and --curve-server)", e.what());
    return rill::daemon::exit_config;
  }

  // The models, each with its own settings.
  const auto defaults = transport::default_endpoints(o.rt.data_dir);
  std::vector<std::unique_ptr<readmodels::read_model>> models;
  for (const auto& name : o.models) {
    readmodels::model_config cfg;
    cfg.data_dir = o.rt.data_dir.string();
    cfg.command_endpoint = o.command_endpoint.empty() ? defaults.command : o.command_endpoint;
    cfg.rates_endpoint =
        o.rates_endpoint.empty() ? "ipc://" + (run_dir / "rates").string() : o.rates_endpoint;
    cfg.client_keys = client_keys;
    if (o.model_settings.contains(name)) cfg.settings = o.model_settings[name];
    o.rt.model_settings[name] = cfg.settings.dump();  // recorded next to its snapshots
    std::unique_ptr<readmodels::read_model> m;
    try {
      m = proj::make_hosted_model(name, cfg);
    } catch (const std::exception& e) {
      // Settings errors name the model already ("model M: ...").
      const std::string what = e.what();
      if (what.rfind("model " + name + ":", 0) == 0)
        spdlog::critical("{}", what);
      else
        spdlog::critical("model {}: {}", name, what);
      return rill::daemon::exit_config;
    }
    if (!m) {
      spdlog::critical("unknown model '{}' (known: {})", name,
                       joined(proj::hosted_model_names(), ", "));
      return rill::daemon::exit_config;
    }
    models.push_back(std::move(m));
  }

  daemon::pid_file pid;
  std::string error;
  if (!pid.acquire(run_dir / proj::pid_file_name(o.models), error)) {
    spdlog::critical("{}", error);
    return 1;
  }
  // And one lock per model: a process hosting another set that shares a
  // model with a running one would bind over its query endpoint, delete
  // that socket file when it stops, and write the same snapshots and run
  // the same saga (an outside probe took over a running deployment's
  // customers that way).
  std::vector<std::unique_ptr<daemon::pid_file>> model_locks;
  for (const auto& name : o.models) {
    auto lock = std::make_unique<daemon::pid_file>();
    if (!lock->acquire(run_dir / ("model." + name + ".lock"), error)) {
      spdlog::critical("model {} is hosted by another rill-proj: {}", name, error);
      return 1;
    }
    model_locks.push_back(std::move(lock));
  }

  std::unique_ptr<readmodels::runtime> rt;
  try {
    rt = std::make_unique<readmodels::runtime>(o.rt, std::move(models));
  } catch (const std::invalid_argument& e) {
    spdlog::critical("{}", e.what());  // the model list or endpoints: configuration
    return rill::daemon::exit_config;
  } catch (const std::exception& e) {
    // Binding an endpoint can fail for a while (a port in TIME_WAIT, an old
    // instance still stopping): a fault the supervisor retries, not exit 2.
    spdlog::critical("{}", e.what());
    return rill::daemon::exit_fault;
  }

  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    const timespec step{0, 100'000'000};
    while (!done.load()) {
      const int sig = ::sigtimedwait(&signals, nullptr, &step);
      if (sig > 0) {
        spdlog::info("signal {}: stopping", sig);
        rt->stop();
      }
    }
  });
  spdlog::info("rill-proj up: pid {}, models {}, data {}", ::getpid(), joined(o.models, ","),
               o.rt.data_dir.string());
  const int rc = rt->run();
  done.store(true);
  signal_thread.join();
  rt.reset();  // main's bound_ipc_files_guard removes the socket files
  spdlog::info("rill-proj stopped ({})", rc == 0 ? "clean" : "error");
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  proj_options o;
  if (const int rc = rill::proj::parse_proj_options(argc, argv, o); rc != 0) return rc < 0 ? 0 : rc;
  setup_logging(o);
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // a closed terminal: a clean stop, not a kill
  if (::pthread_sigmask(SIG_BLOCK, &signals, nullptr) != 0) {
    spdlog::critical("cannot block signals");
    return 1;
  }
  const rill::transport::bound_ipc_files_guard unbind;  // also when run() fails
  try {
    return run(o, signals);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
}
