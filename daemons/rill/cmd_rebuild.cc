// rill rebuild: rebuild a read model from seq 1 while the old state keeps
// answering; show progress until the new state has taken over.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemons/rill/client_call.h"
#include "daemons/rill/commands.h"
#include "daemons/rill/interrupt.h"
#include "daemons/rill/model_list.h"
#include "daemons/rill/model_status.h"
#include "transport/endpoints.h"

namespace rill::cli {

namespace {

struct rebuild_flags {
  std::string model;
  int64_t timeout_ms = 0;  // 0: no limit
};

void draw_bar(double p, const nlohmann::json& st) {
  constexpr int kWidth = 40;
  int filled = static_cast<int>(p * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  std::cerr << "\rrebuilding [" << bar << "] " << static_cast<int>(p * 100) << "%";
  auto it = st.find("rebuild_progress");
  if (it != st.end() && it->is_object() && it->contains("seq") && it->contains("head"))
    std::cerr << "  seq " << (*it)["seq"].dump() << " of " << (*it)["head"].dump();
  std::cerr << "   " << std::flush;
}

int run_rebuild(global_options& g, const rebuild_flags& f) {
  if (f.timeout_ms < 0) return usage_error("rebuild", "--timeout-ms must be >= 0");
  interrupt_fd intr;
  const auto data = g.data_dir();
  const auto ep = transport::discover_endpoints(data);
  auto it = ep.models.find(f.model);
  const bool listed = it != ep.models.end() || is_known_model(f.model);
  const std::string endpoint =
      it != ep.models.end() ? it->second : transport::default_model_endpoint(data, f.model);
  zmq::context_t ctx;
  const auto call_timeout = std::chrono::milliseconds(5000);
  // Completed rebuilds before ours: the count goes up when ours has taken over.
  auto before = call_endpoint(ctx, endpoint, {{"model", f.model}, {"q", "status"}}, call_timeout);
  if (before.status == call_status::not_running && !listed)
    return report("unknown_model", "no read model named '" + f.model + "'", exit_refused);
  if (before.status != call_status::replied)
    return report_unreachable(g, "read model " + f.model, endpoint, before, call_timeout);
  const auto& before_body = status_body(before.reply);
  const bool counted = before_body.is_object() && before_body.contains("rebuilds");
  const uint64_t rebuilds_before = counted ? before_body.value("rebuilds", uint64_t{0}) : 0;
  auto r = call_endpoint(ctx, endpoint, {{"model", f.model}, {"q", "rebuild"}}, call_timeout);
  if (r.status != call_status::replied)
    return report_unreachable(g, "read model " + f.model, endpoint, r, call_timeout);
  if (!r.reply.value("ok", false)) {
    if (g.json) std::cout << r.reply.dump() << std::endl;
    return report_refusal(r.reply);
  }
  const auto& started = status_body(r.reply);
  if (started.is_object() && !started.value("started", true)) {
    if (g.json) std::cout << r.reply.dump() << std::endl;
    return report(
        "rebuild_refused",
        f.model + ": " + started.value("reason", std::string("the daemon did not start a rebuild")),
        exit_refused);
  }

  const bool tty = ::isatty(STDERR_FILENO) && !g.json;
  if (!tty && !g.json) std::cout << "rebuilding " << f.model << " from seq 1 ..." << std::endl;
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto deadline =
      f.timeout_ms > 0 ? start + std::chrono::milliseconds(f.timeout_ms) : clock::time_point::max();
  nlohmann::json st;
  for (;;) {
    if (intr.fired()) {
      if (tty) std::cerr << std::endl;
      std::cerr << "rill: stopped watching; the rebuild of " << f.model << " goes on" << std::endl;
      return exit_ok;
    }
    auto s = call_endpoint(ctx, endpoint, {{"model", f.model}, {"q", "status"}}, call_timeout);
    if (s.status != call_status::replied) {
      if (tty) std::cerr << std::endl;
      return report_unreachable(g, "read model " + f.model, endpoint, s, call_timeout);
    }
    if (!s.reply.value("ok", false)) {
      if (tty) std::cerr << std::endl;
      return report_refusal(s.reply);
    }
    st = status_body(s.reply);
    if (!st.value("rebuilding", false)) break;
    if (tty) draw_bar(rebuild_fraction(st), st);
    if (clock::now() >= deadline) {
      if (tty) std::cerr << std::endl;
      return report("timeout",
                    "the rebuild of " + f.model + " is still running after " +
                        std::to_string(f.timeout_ms) + " ms",
                    exit_refused);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (tty) {
    draw_bar(1.0, st);
    std::cerr << std::endl;
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
  if (counted && st.value("rebuilds", uint64_t{0}) <= rebuilds_before) {
    if (g.json)
      std::cout << nlohmann::json{{"ok", false}, {"model", f.model}, {"status", st}}.dump()
                << std::endl;
    return report("rebuild_failed",
                  f.model + ": " +
                      (st.contains("rebuild_error") && st["rebuild_error"].is_string()
                           ? st["rebuild_error"].get<std::string>()
                           : std::string("the rebuild ended without taking over")),
                  exit_refused);
  }
  if (g.json) {
    std::cout << nlohmann::json{{"ok", true},
                                {"model", f.model},
                                {"ms", took.count()},
                                {"status", st}}
                     .dump()
              << std::endl;
  } else {
    std::cout << f.model << " rebuilt in " << took.count() << " ms: applied seq "
              << st.value("seq", nlohmann::json(nullptr)).dump() << ", head "
              << st.value("head", nlohmann::json(nullptr)).dump() << std::endl;
  }
  return exit_ok;
}

}  // namespace

void add_rebuild_command(CLI::App& app, global_options& g) {
  auto f = std::make_shared<rebuild_flags>();
  auto* sub = app.add_subcommand(
      "rebuild",
      "Rebuild a read model from seq 1 (the old state answers until the new one takes over)");
  add_global_flags(*sub, g);
  sub->add_option("model", f->model, "Read model name")->required();
  sub->add_option("--timeout-ms", f->timeout_ms,
                  "Give up waiting after this long (default: no limit)");
  sub->callback([&g, f] { g.exit = run_rebuild(g, *f); });
}

}  // namespace rill::cli
