// rill load: the benchmark load generator (daemons/rill/load_*.h).
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "daemons/rill/client_call.h"
#include "daemons/rill/commands.h"
#include "daemons/rill/interrupt.h"
#include "daemons/rill/load_config.h"
#include "daemons/rill/load_observers.h"
#include "daemons/rill/load_report.h"
#include "daemons/rill/load_worker.h"
#include "transport/client.h"
#include "transport/endpoints.h"
#include "transport/security.h"

namespace rill::cli {

namespace {

using namespace std::chrono_literals;

// --notified keeps (seq, send time) of at most this many requests (16 bytes each).
constexpr size_t kMaxAcked = 8'000'000;

struct load_flags {
  load_config cfg;
  std::string mix = "create:100";
};

std::string make_run_tag() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  char buf[64];
  std::snprintf(buf, sizeof buf, "L%d-%llx", static_cast<int>(::getpid()),
                static_cast<unsigned long long>(ms));
  return buf;
}

void progress_line(double t, uint64_t done, double last_rate, bool final) {
  std::fprintf(stderr, "\r  %6.1f s  %12llu commands  %10.0f cmd/s%s", t,
               static_cast<unsigned long long>(done), last_rate, final ? "\n" : "   ");
  std::fflush(stderr);
}

int run_load(global_options& g, load_flags& f) {
  load_config& cfg = f.cfg;
  std::string error;
  if (!parse_mix(f.mix, cfg.mix, error) || !validate(cfg, error)) return usage_error("load", error);
  interrupt_fd interrupt;  // before the context: I/O threads inherit the blocked signals
  const auto ep = transport::discover_endpoints(g.data_dir());
  // The observers connect from threads of their own: a tcp:// endpoint
  // without keys is refused here, before anything is sent.
  transport::require_client_keys(ep.command, client_security());
  if (cfg.visible) transport::require_client_keys(ep.events, client_security());
  if (!cfg.notified.empty()) transport::require_client_keys(ep.notify, client_security());
  if (!cfg.after_model.empty())
    if (auto it = ep.models.find(cfg.after_model); it != ep.models.end())
      transport::require_client_keys(it->second, client_security());
  zmq::context_t ctx;
  {
    transport::rpc_client ping(ctx, ep.command, client_security());  // loads the keys once, here
    auto r = ping.call({{"op", "ping"}}, 3s);
    if (!r) return not_running(g, "rill-core does not answer on " + ep.command);
    // A refusal (`forbidden`: our key is not on its list) says why.
    if (!r->value("ok", false)) return report_refusal(*r);
  }
  std::string model_ep;
  if (!cfg.after_model.empty()) {
    auto it = ep.models.find(cfg.after_model);
    const bool listed = it != ep.models.end();
    model_ep =
        listed ? it->second : transport::default_model_endpoint(g.data_dir(), cfg.after_model);
    // The model must answer before the run, or every sample would time out.
    auto r = call_endpoint(ctx, model_ep, {{"q", "status"}}, 3s);
    if (r.status != call_status::replied) {
      if (!listed)
        return report("unknown_model",
                      "--after-model: no read model named '" + cfg.after_model + "' answers (no " +
                          "socket at " + model_ep + ")",
                      exit_refused);
      return report_unreachable(g, "read model " + cfg.after_model, model_ep, r, 3s);
    }
  }
  // (Daemons started by hand, without `rill up`, list no models: then the
  // notifier's silence is what tells, after the run.)
  if (!cfg.notified.empty() && !ep.models.empty() && !ep.models.contains(cfg.notified))
    return report("unknown_model",
                  "--notified: rill runs no read model named '" + cfg.notified + "' (not in " +
                      (g.data_dir() / "run" / "endpoints.json").string() + ")",
                  exit_refused);
  // The plot file is opened before the run, so that a path it cannot write
  // is found before the load, not after it.
  if (!cfg.plot.empty()) {
    std::ofstream probe_plot(cfg.plot, std::ios::app);
    if (!probe_plot) return cli::report("io", "cannot write " + cfg.plot, exit_refused);
  }

  load_report report;
  report.config = cfg;
  report.run_tag = make_run_tag();
  worker_shared shared;
  if (!cfg.notified.empty()) shared.max_acked = kMaxAcked / cfg.connections;

  std::unique_ptr<note_watcher> notes;
  if (!cfg.notified.empty()) {
    notes = std::make_unique<note_watcher>(ctx, ep.notify, cfg.notified);
    if (!notes->start(error)) return not_running(g, error);
  }

  std::unique_ptr<feed_watcher> watcher;
  if (cfg.visible) {
    watcher = std::make_unique<feed_watcher>(ctx, ep.events, report.run_tag);
    watcher->start();
  }
  std::unique_ptr<journal_watcher> tailer;
  if (cfg.visible_journal) {
    const auto dir = g.data_dir() / "journal";
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
      return not_running(g, "--visible-journal reads rill-core's journal on this host, and " +
                                dir.string() + " is not a directory (see --data)");
    tailer = std::make_unique<journal_watcher>(dir, report.run_tag);
    tailer->start();
  }
  std::unique_ptr<after_probe> probe;
  if (!model_ep.empty()) {
    probe = std::make_unique<after_probe>(ctx, ep.command, model_ep, cfg.after_model, cfg,
                                          report.run_tag);
    probe->start();
  }

  const auto start = std::chrono::steady_clock::now() + 10ms;
  const auto deadline =
      start + std::chrono::nanoseconds(static_cast<int64_t>(cfg.duration_s * 1e9));
  std::vector<std::unique_ptr<load_worker>> workers;
  for (uint32_t i = 0; i < cfg.connections; ++i) {
    uint64_t share = 0;
    if (cfg.count > 0) share = cfg.count / cfg.connections + (i < cfg.count % cfg.connections ? 1 : 0);
    if (cfg.count > 0 && share == 0) continue;
    workers.push_back(std::make_unique<load_worker>(ctx, ep.command, cfg, report.run_tag, i, share,
                                                    start, deadline, shared));
  }
  std::atomic<size_t> finished{0};
  std::vector<std::thread> threads;
  for (auto& w : workers)
    threads.emplace_back([&finished, wp = w.get()] {
      wp->run();
      finished.fetch_add(1);
    });

  // Sample the acknowledged count every second (throughput per second and
  // progress on a terminal); stop the workers on Ctrl-C.
  const bool tty = ::isatty(2) != 0;
  std::this_thread::sleep_until(start);
  uint64_t last = 0;
  auto next_tick = start + 1s;
  while (finished.load() < workers.size()) {
    std::this_thread::sleep_for(20ms);
    if (interrupt.fired()) {
      shared.stop.store(true);
      report.interrupted = true;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_tick) {
      const uint64_t done = shared.commands_done.load(std::memory_order_relaxed);
      report.per_second.push_back(static_cast<double>(done - last));
      if (tty) progress_line(std::chrono::duration<double>(now - start).count(), done,
                             static_cast<double>(done - last), false);
      last = done;
      next_tick += 1s;
    }
  }
  for (auto& t : threads) t.join();
  // The probe samples the run, not the time spent after it waiting for
  // the other rows' last events (it sent 1,300 commands in that time).
  if (probe) probe->finish();
  if (interrupt.fired()) report.interrupted = true;
  // Elapsed: the start to the last reply (the workers stamp it; the loop
  // above only looks every 20 ms); a --duration run that ran its course
  // counts the whole duration.
  int64_t end_ns = steady_ns();
  int64_t last_reply_ns = 0;
  for (auto& w : workers) last_reply_ns = std::max(last_reply_ns, w->result().end_ns);
  if (last_reply_ns > 0) end_ns = last_reply_ns;
  report.elapsed_s = static_cast<double>(end_ns - steady_ns_of(start)) / 1e9;
  const uint64_t done = shared.commands_done.load();
  const auto now = std::chrono::steady_clock::now();
  if (done > last && std::chrono::duration<double>(now - start).count() >
                         static_cast<double>(report.per_second.size()) + 0.05)
    report.per_second.push_back(static_cast<double>(done - last));  // the last partial second

  for (auto& w : workers) {
    auto& r = w->result();
    report.latency.merge(r.latency);
    report.send_lag.merge(r.send_lag);
    report.requests += r.requests;
    report.replies += r.replies;
    report.ok += r.ok;
    report.failed += r.failed;
    report.lost += r.lost;
    report.late += r.late;
    report.malformed += r.malformed;
    report.window_waits += r.window_waits;
    report.unsent += r.unsent;
    for (const auto& [code, n] : r.errors) report.errors[code] += n;
    if (report.fatal.empty() && !r.fatal.empty()) report.fatal = r.fatal;
  }
  if (cfg.count == 0 && !report.interrupted && report.fatal.empty())
    report.elapsed_s = std::max(report.elapsed_s, cfg.duration_s);
  if (tty) progress_line(report.elapsed_s, done, report.throughput(), true);
  if (watcher) {
    report.visible_expected = report.ok;
    watcher->finish(report.visible_expected, 1000);
    report.visible = watcher->latency();
  }
  if (tailer) {
    report.visible_expected = report.ok;
    tailer->finish(report.visible_expected, 1000);
    report.visible_journal = tailer->latency();
  }
  if (notes) {
    uint64_t target = 0;
    std::vector<acked_request> acked;
    for (auto& w : workers) {
      auto& a = w->result().acked;
      for (const auto& x : a) target = std::max(target, x.seq);
      acked.insert(acked.end(), a.begin(), a.end());
      a = {};
    }
    // Until the note covering the last acknowledged command, or 2 s without
    // a note (a model that is not running, or not reporting).
    notes->finish(target, 2000,
                  static_cast<int>(std::min(3'600'000.0, cfg.drain_timeout_s * 1000)));
    report.notified = match_notes(notes->marks(), acked, report.notified_missing);
    report.notified_expected = acked.size();
    report.notified_notes = notes->notes();
    report.notified_resyncs = notes->resyncs();
  }
  if (probe) {
    report.after = probe->latency();
    report.after_timeouts = probe->timeouts();
    report.after_commands = probe->commands();
  }

  // A visibility row that saw nothing at all measured nothing: its source
  // is not there (no feed on that endpoint, a model that never caught up).
  if (report.fatal.empty() && report.visible && report.visible_expected > 0 &&
      report.visible->count() == 0)
    report.fatal = "the feed at " + ep.events + " delivered none of the " +
                   std::to_string(report.visible_expected) +
                   " events (is rill-core publishing there?)";
  if (report.fatal.empty() && report.after && report.after->count() == 0 &&
      report.after_timeouts > 0)
    report.fatal =
        "read model " + cfg.after_model + " answered none of the `after` queries in time";
  if (report.fatal.empty() && report.lost > 0) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%g", cfg.drain_timeout_s);
    // Interrupted, the run did not wait for the last replies at all.
    report.fatal = std::to_string(report.lost) + " request(s) got no reply from " + ep.command +
                   (report.interrupted ? " before the run was interrupted"
                                       : " within --drain-timeout (" + std::string(secs) + " s)");
  }

  if (g.json) std::cout << report_json(report).dump() << std::endl;
  else print_report(std::cout, report);
  std::cout.flush();
  if (!cfg.plot.empty() && !write_plot(cfg.plot, report, error))
    return cli::report("io", error, exit_refused);
  // The results are on stdout; why the run failed goes to stderr, as for
  // every command (`rill: <code>: <message>`).
  if (!report.fatal.empty()) return cli::report("unreachable", report.fatal, exit_unreachable);
  return report.failed > 0 || report.malformed > 0 ? exit_refused : exit_ok;
}

}  // namespace

void add_load_command(CLI::App& app, global_options& g) {
  auto f = std::make_shared<load_flags>();
  auto& c = f->cfg;
  auto* sub = app.add_subcommand("load", "Generate load on rill-core and measure latency and throughput");
  add_global_flags(*sub, g);
  sub->add_option("--connections", c.connections, "Client connections (threads, each its own DEALER); default 1");
  sub->add_option("--window", c.window, "Requests in flight per connection; default 1");
  sub->add_option("--rate", c.rate,
                  "Open loop: commands/s over all connections, latency from the intended send time; "
                  "0 = closed loop (default)");
  auto* dur = sub->add_option("--duration", c.duration_s, "Seconds to run (default 5)");
  sub->add_option("--count", c.count,
                  "Commands to send (instead of --duration); with --batch the last request of a "
                  "connection may be a shorter batch")
      ->excludes(dur)
      ->check([](const std::string& v) {
        uint64_t n = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc() || p != v.data() + v.size() || n < 1 || n > 1'000'000'000'000ull)
          return std::string("--count must be a whole number in 1..1000000000000");
        return std::string();
      });
  sub->add_option("--mix", f->mix, "Command mix in percent, e.g. create:70,update:20,order:10 (default create:100)");
  sub->add_option("--batch", c.batch, "Commands per request (a batch when > 1); default 1");
  sub->add_flag("--atomic", c.atomic, "Send atomic batches");
  sub->add_option("--payload", c.payload,
                  "Pad customer names to this many bytes (names are at least 13 bytes long)");
  sub->add_flag("--visible", c.visible, "Also measure command -> event on the feed (SUB socket)");
  sub->add_flag("--visible-journal", c.visible_journal,
                "Also measure command -> event read from rill-core's journal on this host");
  const auto model_name = [](const std::string& s) {
    return s.empty() ? std::string("needs a model name") : std::string();
  };
  sub->add_option("--after-model", c.after_model,
                  "Also measure command -> read model NAME answers a query with `after` (sampled)")
      ->check(model_name);
  sub->add_option(
         "--notified", c.notified,
         "Also measure command -> `changed` note for model NAME at a client watching it "
         "on rill-notify (every acknowledged request, until the first note with seq >= its seq)")
      ->check(model_name);
  sub->add_option("--plot", c.plot, "Write the latency percentile curve and throughput as an SVG file");
  sub->add_option("--drain-timeout", c.drain_timeout_s,
                  "Seconds to wait for the last replies, and for any reply while the window is "
                  "full; a request unanswered this long is given up and counted lost "
                  "(default 30, at most 3600)");
  sub->add_option("--spin-us", c.spin_us,
                  "Closed loop: when the window is full, poll for replies without blocking for up to "
                  "this many microseconds before sleeping (a latency knob: saves the wake-up, "
                  "costs a CPU); default 0");
  sub->footer(
      "Examples:\n"
      "  rill load --window 1 --duration 3                 round trip, one command in flight\n"
      "  rill load --window 1000 --duration 5 --json       pipelined throughput\n"
      "  rill load --rate 50000 --connections 2 --visible --plot lat.svg\n"
      "  rill load --batch 64 --window 16 --mix create:70,update:20,order:10\n"
      "  rill load --rate 20000 --duration 10 --mix create:50,update:50 --notified customers --visible");
  sub->callback([&g, f] { g.exit = run_load(g, *f); });
}

}  // namespace rill::cli
