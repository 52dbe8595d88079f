// rill status: every daemon's pid, start time, applied seq, head, lag and restarts.
#include <iostream>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemons/rill/commands.h"
#include "daemons/rill/model_status.h"
#include "daemons/rill/output.h"
#include "daemons/rill/probe.h"
#include "daemons/rill/process_util.h"
#include "daemons/rill/run_lock.h"
#include "daemons/rill/supervisor_state.h"

namespace rill::cli {

namespace {

daemon_kind parse_kind(const std::string& k) {
  if (k == "proj") return daemon_kind::proj;
  if (k == "notify") return daemon_kind::notify;
  if (k == "rates") return daemon_kind::rates;
  return daemon_kind::core;
}

std::string text_or_dash(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  return scalar_text(*it);
}

int run_status(global_options& g, int64_t timeout_ms) {
  if (timeout_ms <= 0) return usage_error("status", "--timeout-ms must be positive");
  const auto data = g.data_dir();
  if (!run_lock_busy(lock_file(data))) {
    // Daemons started by hand: 'rill up' would refuse to start over them.
    if (auto by_hand = daemons_running(data, std::chrono::milliseconds(0)); !by_hand.empty())
      return not_running(g, "no supervisor; started by hand (not by 'rill up'): " + by_hand +
                                "; ask them directly (e.g. 'rill query MODEL status'), or stop "
                                "them (their pid files are in " +
                                transport::run_dir(data).string() + ") before 'rill up'");
    return not_running(g, "no supervisor; start it with 'rill up'");
  }
  auto st = read_supervisor_state(supervisor_state_file(data));
  if (!st) return not_running(g, "no readable " + supervisor_state_file(data).string());

  std::vector<probe_target> targets;
  for (const auto& d : st->daemons)
    targets.push_back(status_target(data, d.name, parse_kind(d.kind), d.model));
  zmq::context_t ctx;
  auto results = probe_all(ctx, targets, std::chrono::milliseconds(timeout_ms));

  nlohmann::json daemons = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  bool all_up = true;
  for (size_t i = 0; i < st->daemons.size(); ++i) {
    const auto& d = st->daemons[i];
    const auto& r = results[i];
    // A model's status comes as a query reply: the fields are in "result".
    const nlohmann::json& reply = r.reply;
    const bool ok = r.answered && reply.value("ok", false);
    const nlohmann::json& rep = status_body(reply);
    std::string state;
    if (d.state == "backoff")
      state = "restarting";
    else if (d.state == "failed")
      state = "failed";  // its configuration refused (last_exit); not restarted
    else if (d.pid <= 0)
      state = "stopped";
    else if (!r.answered)
      state = "no reply";
    else if (!ok)
      state = "error: " + reply.value("error", std::string("?"));
    else if (rep.value("rebuilding", false))
      state = "rebuilding " + std::to_string(static_cast<int>(rebuild_fraction(rep) * 100)) + "%";
    else
      state = "up";
    if (state != "up" && state.rfind("rebuilding", 0) != 0) all_up = false;

    nlohmann::json applied = nullptr, head = nullptr, lag = nullptr, lag_ms = nullptr;
    if (ok) {
      if (d.kind == "core") {
        applied = rep.value("head", nlohmann::json(nullptr));
        head = applied;
        if (!applied.is_null()) lag = 0;
      } else if (d.kind == "proj") {
        applied = rep.value("seq", nlohmann::json(nullptr));
        head = rep.value("head", nlohmann::json(nullptr));
        lag = rep.value("lag", nlohmann::json(nullptr));
        if (lag.is_null() && applied.is_number_unsigned() && head.is_number_unsigned())
          lag = head.get<uint64_t>() > applied.get<uint64_t>()
                    ? head.get<uint64_t>() - applied.get<uint64_t>()
                    : 0;
        lag_ms = rep.value("lag_ms", nlohmann::json(nullptr));
      }
    }
    nlohmann::json j = {{"name", d.name},
                        {"kind", d.kind},
                        {"pid", d.pid},
                        {"started_ns", d.started_ns},
                        {"since", d.started_ns ? format_local_time(d.started_ns) : ""},
                        {"restarts", d.restarts},
                        {"state", state},
                        {"applied", applied},
                        {"head", head},
                        {"lag", lag},
                        {"lag_ms", lag_ms},
                        {"last_exit", d.last_exit}};
    if (!d.model.empty()) j["model"] = d.model;
    // A saga working through a backlog has lag 0 and yet is busy: say so
    // (JSON: saga_pending; the state stays "up").
    std::string shown_state = state;
    // Why it failed or restarts, in the table too (JSON: last_exit).
    if ((state == "failed" || state == "restarting") && !d.last_exit.empty())
      shown_state += " (" + d.last_exit + ")";
    if (ok && rep.contains("saga_pending")) {
      j["saga_pending"] = rep["saga_pending"];
      if (const uint64_t n = rep.value("saga_pending", uint64_t{0}); n > 0)
        shown_state += " (saga: " + std::to_string(n) + " pending)";
    }
    if (r.answered) j["reply"] = reply;
    rows.push_back({d.name, d.pid > 0 ? std::to_string(d.pid) : "-",
                    format_local_time(d.started_ns), text_or_dash(j, "applied"),
                    text_or_dash(j, "head"), text_or_dash(j, "lag"), text_or_dash(j, "lag_ms"),
                    std::to_string(d.restarts), shown_state});
    daemons.push_back(std::move(j));
  }

  if (g.json) {
    std::cout << nlohmann::json{{"ok", true},
                                {"data", data.string()},
                                {"supervisor",
                                 {{"pid", st->pid},
                                  {"started_ns", st->started_ns},
                                  {"since", format_local_time(st->started_ns)},
                                  {"state", st->state}}},
                                {"healthy", all_up},
                                {"daemons", daemons}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "rill for " << data.string() << ": supervisor pid " << st->pid << ", up since "
              << format_local_time(st->started_ns) << " ("
              << format_duration(std::chrono::nanoseconds(now_ns() - st->started_ns)) << ")"
              << (st->state == "running" ? "" : ", " + st->state) << "\n";
    print_table(
        std::cout,
        {"DAEMON", "PID", "UP SINCE", "APPLIED", "HEAD", "LAG", "LAG MS", "RESTARTS", "STATE"},
        rows);
  }
  return all_up ? exit_ok : exit_refused;
}

}  // namespace

void add_status_command(CLI::App& app, global_options& g) {
  auto timeout_ms = std::make_shared<int64_t>(1000);
  auto* sub = app.add_subcommand(
      "status", "Each daemon: pid, up since, applied seq, head, lag (events, ms), restarts");
  add_global_flags(*sub, g);
  sub->add_option("--timeout-ms", *timeout_ms,
                  "How long to wait for the daemons' answers (default 1000)");
  sub->footer(
      "Exit status: 0 every daemon answers, 1 some daemon does not, 3 rill is not running.");
  sub->callback([&g, timeout_ms] { g.exit = run_status(g, *timeout_ms); });
}

}  // namespace rill::cli
