// rill tail: print events, catching up from the journal, then following live.
#include <iostream>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemons/rill/client_call.h"
#include "daemons/rill/commands.h"
#include "daemons/rill/event_text.h"
#include "daemons/rill/interrupt.h"
#include "transport/client.h"
#include "transport/endpoints.h"

namespace rill::cli {

namespace {

struct tail_flags {
  uint64_t from = 1;
  int64_t count = 0;       // 0: no limit
  int64_t timeout_ms = 0;  // 0: no limit
  bool no_follow = false;
  std::string topic;
};

int run_tail(global_options& g, const tail_flags& f) {
  if (f.count < 0 || f.timeout_ms < 0)
    return usage_error("tail", "--count and --timeout-ms must be >= 0");
  interrupt_fd intr;  // before the zmq context (signal mask)
  const auto ep = transport::discover_endpoints(g.data_dir());
  zmq::context_t ctx;
  const auto probe_timeout = std::chrono::milliseconds(3000);
  auto st = call_endpoint(ctx, ep.command, {{"op", "status"}}, probe_timeout);
  if (st.status != call_status::replied)
    return report_unreachable(g, "rill-core", ep.command, st, probe_timeout);
  const uint64_t head_at_start = st.reply.value("head", uint64_t{0});
  if (f.no_follow && f.from > head_at_start) return exit_ok;

  // Every event is delivered (and counted for --no-follow); --topic filters here.
  transport::event_subscriber sub(ctx, ep.events, ep.replay, f.from);
  using clock = std::chrono::steady_clock;
  const auto deadline = f.timeout_ms > 0 ? clock::now() + std::chrono::milliseconds(f.timeout_ms)
                                         : clock::time_point::max();
  int64_t printed = 0;
  std::string body;
  uint64_t seq = 0;
  uint64_t last = f.from > 0 ? f.from - 1 : 0;  // the last seq delivered
  while (!intr.fired()) {
    if (f.no_follow && last >= head_at_start) break;
    const auto now = clock::now();
    if (now >= deadline) break;
    auto wait = std::min<clock::duration>(deadline - now, std::chrono::milliseconds(200));
    if (!sub.next(body, seq, std::chrono::duration_cast<std::chrono::milliseconds>(wait))) continue;
    last = seq;
    if (f.no_follow && seq > head_at_start) break;
    if (!f.topic.empty() &&
        transport::event_topic({body.data(), body.size()}).rfind(f.topic, 0) != 0)
      continue;
    auto ev = event_json({body.data(), body.size()});
    if (ev.is_discarded()) {
      std::cerr << "rill: event " << seq << " is not a MessagePack map (" << body.size()
                << " bytes)" << std::endl;
      continue;
    }
    std::cout << (g.json ? ev.dump() : event_line(ev)) << '\n';
    std::cout.flush();
    if (f.count > 0 && ++printed >= f.count) break;
  }
  return exit_ok;
}

}  // namespace

void add_tail_command(CLI::App& app, global_options& g) {
  auto f = std::make_shared<tail_flags>();
  auto* sub =
      app.add_subcommand("tail", "Print events, catching up from the journal, then following live");
  add_global_flags(*sub, g);
  sub->add_option("--from", f->from, "First seq to print (default 1: the whole journal)");
  sub->add_option("--count", f->count, "Stop after N events");
  sub->add_option("--timeout-ms", f->timeout_ms, "Stop after this long (default: until Ctrl-C)");
  sub->add_flag("--no-follow", f->no_follow, "Stop at the journal's head instead of following");
  sub->add_option("--topic", f->topic, "Only events whose topic \"<agg>/<TYPE>\" starts with this");
  sub->callback([&g, f] { g.exit = run_tail(g, *f); });
}

}  // namespace rill::cli
