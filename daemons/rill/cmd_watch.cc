// rill watch: print a read model's change notifications as they come.
#include <algorithm>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemons/rill/cli_options.h"
#include "daemons/rill/commands.h"
#include "daemons/rill/interrupt.h"
#include "daemons/rill/model_list.h"
#include "daemons/rill/probe.h"
#include "transport/endpoints.h"
#include "transport/notify_client.h"

namespace rill::cli {

namespace {

struct watch_flags {
  std::string model, key;
  int64_t count = 0;       // 0: no limit
  int64_t timeout_ms = 0;  // 0: no limit
};

// How long the first watch request may take to be answered.
constexpr std::chrono::milliseconds kWatchReply{5000};

nlohmann::json note_json(const transport::note& n) {
  nlohmann::json j = {
      {"note", n.resync ? "resync" : "changed"}, {"model", n.model}, {"seq", n.seq}};
  if (n.key) j["key"] = *n.key;
  return j;
}

std::string note_line(const transport::note& n) {
  if (n.resync)
    return "resync   " + n.model + "  " + (n.key ? nlohmann::json(*n.key).dump() : "*") +
           "  (rill-notify was unreachable: changes may have been missed; re-read)";
  return "changed  " + n.model + "  " + (n.key ? nlohmann::json(*n.key).dump() : "*") + "  seq " +
         std::to_string(n.seq);
}

int run_watch(global_options& g, const watch_flags& f) {
  if (f.count < 0 || f.timeout_ms < 0)
    return usage_error("watch", "--count and --timeout-ms must be >= 0");
  interrupt_fd intr;  // before the zmq context (signal mask)
  const auto ep = transport::discover_endpoints(g.data_dir());
  if (ipc_endpoint_missing(ep.notify))
    return not_running(g, "rill-notify: no socket at " + ep.notify);
  // The notifier takes any name; catch a typo here (a model rill does not run).
  if (!ep.models.empty() && !ep.models.count(f.model) && !is_known_model(f.model))
    return report("unknown_model",
                  "no read model named '" + f.model + "' in " +
                      (transport::run_dir(g.data_dir()) / "endpoints.json").string(),
                  exit_refused);

  zmq::context_t ctx;
  transport::notify_client nc(ctx, ep.notify, {}, client_security());
  const std::optional<std::string_view> key =
      f.key.empty() ? std::nullopt : std::optional<std::string_view>(f.key);
  const errc e = nc.watch(f.model, key, kWatchReply);
  if (e == errc::timeout)
    return report("unreachable",
                  "rill-notify did not answer the watch request within " +
                      std::to_string(kWatchReply.count()) + " ms (" + ep.notify + ")",
                  exit_unreachable);
  if (e != errc::ok)
    return report(to_string(e), "rill-notify refused to watch " + f.model, exit_refused);
  if (!g.json)
    std::cerr << "rill: watching " << f.model << (f.key.empty() ? "" : " key " + f.key)
              << " (Ctrl-C to stop)" << std::endl;

  using clock = std::chrono::steady_clock;
  const auto deadline = f.timeout_ms > 0 ? clock::now() + std::chrono::milliseconds(f.timeout_ms)
                                         : clock::time_point::max();
  int64_t seen = 0;
  int rc = exit_ok;
  while (!intr.fired()) {
    const auto now = clock::now();
    if (now >= deadline) {
      if (f.count > 0 && seen < f.count)
        rc = report("timeout",
                    "saw " + std::to_string(seen) + " of " + std::to_string(f.count) +
                        " notifications within " + std::to_string(f.timeout_ms) + " ms",
                    exit_refused);
      break;
    }
    const auto wait = std::min<clock::duration>(deadline - now, std::chrono::milliseconds(200));
    auto n = nc.next_note(std::chrono::duration_cast<std::chrono::milliseconds>(wait));
    if (!n) continue;
    std::cout << (g.json ? note_json(*n).dump() : note_line(*n)) << std::endl;
    if (!n->resync && f.count > 0 && ++seen >= f.count) break;
  }
  (void)nc.unwatch(f.model, key, std::chrono::milliseconds(1000));
  return rc;
}

}  // namespace

void add_watch_command(CLI::App& app, global_options& g) {
  auto f = std::make_shared<watch_flags>();
  auto* sub = app.add_subcommand("watch", "Print a read model's change notifications as they come");
  add_global_flags(*sub, g);
  sub->add_option("model", f->model, "Read model name")->required();
  sub->add_option("key", f->key, "Only changes of this key (default: the whole model)");
  sub->add_option("--count", f->count,
                  "Stop after N notifications (exit 1 if --timeout-ms passes first)");
  sub->add_option("--timeout-ms", f->timeout_ms, "Stop after this long (default: until Ctrl-C)");
  sub->callback([&g, f] { g.exit = run_watch(g, *f); });
}

}  // namespace rill::cli
