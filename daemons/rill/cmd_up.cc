// rill up: start and supervise every daemon of a data directory.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "daemons/rill/commands.h"
#include "daemons/rill/daemon_specs.h"
#include "daemons/rill/process_util.h"
#include "daemons/rill/run_lock.h"
#include "daemons/rill/supervisor.h"
#include "daemons/rill/up_detach.h"
#include "transport/endpoints.h"

namespace rill::cli {

namespace {

struct up_flags {
  std::string schema, sync, config;
  bool detach = false;
  int64_t timeout_ms = 30000;
  int64_t stop_timeout_ms = 10000;
};

// Why `rill up` cannot use config file `file`, or "" when it can. rill up
// runs every daemon on the ipc endpoints under D/run (and writes them to
// D/run/endpoints.json for the CLI's own clients), so a file that moves an
// endpoint would leave the daemons and the CLI disagreeing: it is refused
// with the key named, rather than half applied.
std::string config_problem(const std::string& file) {
  std::ifstream in(file);
  if (!in) return "--config: cannot read " + file;
  const auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "--config: " + file + " is not a JSON object";
  auto moves_endpoint = [](const std::string& k, const nlohmann::json& v) {
    if (k == "command" || k == "events" || k == "replay" || k == "notify_in" ||
        k == "model_endpoints" || k == "endpoint")
      return true;
    return (k == "notify" || k == "rates") && v.is_string();
  };
  std::string bad;  // the first key that moves an endpoint, as section.key
  for (const auto& [k, v] : j.items()) {
    if (moves_endpoint(k, v)) bad = k;
    if (bad.empty() && v.is_object() &&
        (k == "core" || k == "proj" || k == "notify" || k == "rates"))
      for (const auto& [k2, v2] : v.items())
        if (bad.empty() && moves_endpoint(k2, v2)) bad = k + "." + k2;
    if (!bad.empty())
      return "--config: '" + bad + "' in " + file +
             " moves an endpoint; rill up runs every daemon on the ipc endpoints under D/run. "
             "Start the daemons yourself to move one (README, \"The daemons\")";
  }
  return {};
}

int run_up(global_options& g, const up_flags& f) {
  if (!f.sync.empty() && !valid_sync_mode(f.sync))
    return usage_error("up", "--sync must be none, batch or interval:MS, not '" + f.sync + "'");
  if (f.timeout_ms <= 0 || f.stop_timeout_ms <= 0)
    return usage_error("up", "--timeout-ms and --stop-timeout-ms must be positive");
  up_options o;
  o.data = g.data_dir();
  std::error_code ec;
  if (!f.schema.empty()) {
    if (!std::filesystem::is_regular_file(f.schema, ec))
      return usage_error("up", "--schema: no such file: " + f.schema);
    o.schema = std::filesystem::absolute(f.schema, ec).string();
  }
  if (!f.config.empty()) {
    if (!std::filesystem::is_regular_file(f.config, ec))
      return usage_error("up", "--config: no such file: " + f.config);
    o.config = std::filesystem::absolute(f.config, ec).string();
    if (auto why = config_problem(o.config); !why.empty()) return usage_error("up", why);
  }
  o.sync = f.sync;
  o.detach = f.detach;
  o.bin_dir = self_bin_dir();
  o.ready_timeout = std::chrono::milliseconds(f.timeout_ms);
  o.stop_timeout = std::chrono::milliseconds(f.stop_timeout_ms);

  {
    auto why = transport::endpoints_problem(make_endpoints(o.data));
    if (why.empty()) why = transport::endpoint_problem(rates_endpoint(o.data));
    if (!why.empty()) return usage_error("up", why);
  }
  std::string error;
  if (!make_dir(o.data, error) || !make_dir(transport::run_dir(o.data), error) ||
      !make_dir(o.data / "logs", error))
    return report("start_failed", error, exit_refused);

  run_lock lock;
  switch (lock.try_acquire(lock_file(o.data), error)) {
    case run_lock::result::acquired:
      break;
    case run_lock::result::busy: {
      // A supervisor that has just taken the lock writes its pid a moment
      // later (two `rill up` started together).
      auto pid = read_pid_file(supervisor_pid_file(o.data));
      for (int i = 0; i < 20 && !pid; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        pid = read_pid_file(supervisor_pid_file(o.data));
      }
      return report("already_running",
                    "rill is already running for " + o.data.string() +
                        (pid ? " (supervisor pid " + std::to_string(*pid) + ")" : "") +
                        "; stop it with 'rill down --data " + o.data.string() + "'",
                    exit_refused);
    }
    case run_lock::result::error:
      return report("start_failed", error, exit_refused);
  }
  // Daemons started by hand hold D/run's sockets: the ones rill up starts
  // would fail and be restarted for ever while the strangers answer.
  if (auto running = daemons_running(o.data, std::chrono::seconds(3)); !running.empty())
    return report("already_running",
                  running + " already running for " + o.data.string() +
                      ", started outside 'rill up'; stop it first (its pid file is in " +
                      transport::run_dir(o.data).string() + ")",
                  exit_refused);

  auto specs = make_daemon_specs(o);
  for (const auto& s : specs)
    if (auto why = binary_problem(s.binary); !why.empty())
      return report("start_failed", why, exit_refused);

  if (o.detach) return run_detached(g, o, std::move(specs), lock);
  std::cerr << "rill: supervising " << specs.size() << " daemons for " << o.data.string()
            << " (Ctrl-C stops them; logs in " << (o.data / "logs").string() << ")" << std::endl;
  supervisor sup(o, std::move(specs));
  return sup.run(true, -1);
}

}  // namespace

void add_up_command(CLI::App& app, global_options& g) {
  auto f = std::make_shared<up_flags>();
  auto* sub =
      app.add_subcommand("up", "Start every daemon for the data directory and supervise them");
  add_global_flags(*sub, g);
  sub->add_option("--schema", f->schema, "Domain schema (JSON); default: the built-in domain")
      ->type_name("FILE");
  sub->add_option("--sync", f->sync, "Journal sync mode: none | batch | interval:MS")
      ->type_name("MODE")
      ->check(
          [](const std::string& s) { return s.empty() ? std::string("must not be empty") : ""; },
          "MODE");
  sub->add_option("--config", f->config, "Config file passed to every daemon")->type_name("FILE");
  sub->add_flag("--detach,-d", f->detach,
                "Run the supervisor in the background; return once every daemon answers");
  sub->add_option("--timeout-ms", f->timeout_ms,
                  "--detach: how long to wait for every daemon to answer (default 30000)");
  sub->add_option("--stop-timeout-ms", f->stop_timeout_ms,
                  "How long a daemon gets after SIGTERM before SIGKILL (default 10000)");
  sub->callback([&g, f] { g.exit = run_up(g, *f); });
}

}  // namespace rill::cli
