// rill tail: print events, catching up from the journal, then following live.
//
// Catch-up reads the replay endpoint page by page and prints as it goes
// (memory stays bounded however long the journal is); then an
// event_subscriber takes over from the next seq: the live feed, with any gap
// filled from replay, in seq order.
#include <iostream>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemons/rill/cli_options.h"
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

constexpr uint64_t kReplayPage = 4096;  // events per replay request while catching up
constexpr std::chrono::milliseconds kCallTimeout{5000};

class tail_printer {
 public:
  tail_printer(const global_options& g, const tail_flags& f) : g_(g), f_(f) {}
  // Prints `ev` unless --topic filters it out; false once --count is reached.
  bool print(const nlohmann::json& ev) {
    const std::string topic =
        ev.value("agg", std::string()) + "/" + ev.value("type", std::string());
    if (!f_.topic.empty() && topic.rfind(f_.topic, 0) != 0) return true;
    std::cout << (g_.json ? ev.dump() : event_line(ev)) << '\n';
    std::cout.flush();
    return !(f_.count > 0 && ++printed_ >= f_.count);
  }

 private:
  const global_options& g_;
  const tail_flags& f_;
  int64_t printed_ = 0;
};

int run_tail(global_options& g, const tail_flags& f) {
  if (f.count < 0 || f.timeout_ms < 0)
    return usage_error("tail", "--count and --timeout-ms must be >= 0");
  interrupt_fd intr;  // before the zmq context (signal mask)
  const auto ep = transport::discover_endpoints(g.data_dir());
  zmq::context_t ctx;
  auto st = call_endpoint(ctx, ep.command, {{"op", "status"}}, kCallTimeout);
  if (st.status != call_status::replied)
    return report_unreachable(g, "rill-core", ep.command, st, kCallTimeout);
  // A refusal (`forbidden`: our key is not on a tcp:// rill-core's list)
  // is an error, not an empty journal.
  if (!st.reply.value("ok", false)) return report_refusal(st.reply);
  const uint64_t head_at_start = st.reply.value("head", uint64_t{0});
  using clock = std::chrono::steady_clock;
  const auto deadline = f.timeout_ms > 0 ? clock::now() + std::chrono::milliseconds(f.timeout_ms)
                                         : clock::time_point::max();
  tail_printer out(g, f);

  // 1. Catch up from the replay endpoint, a page at a time.
  uint64_t next = f.from == 0 ? 1 : f.from;
  transport::rpc_client replay(ctx, ep.replay, client_security());
  while (next <= head_at_start) {
    if (intr.fired() || clock::now() >= deadline) return exit_ok;
    auto page = replay.call({{"from", next}, {"max", kReplayPage}}, kCallTimeout);
    if (!page)
      return report("unreachable", "the replay endpoint did not answer (" + ep.replay + ")",
                    exit_unreachable);
    if (!page->value("ok", false)) return report_refusal(*page);
    const auto& events = (*page)["events"];
    if (!events.is_array() || events.empty()) break;  // the journal starts later, or ends here
    for (const auto& ev : events) {
      const uint64_t seq = ev.is_object() ? ev.value("seq", uint64_t{0}) : 0;
      if (seq < next) continue;
      next = seq + 1;
      if (f.no_follow && seq > head_at_start) return exit_ok;
      if (!out.print(ev)) return exit_ok;
    }
  }
  if (f.no_follow) return exit_ok;

  // 2. Follow the live feed from there (gaps filled from replay, in order).
  transport::event_subscriber sub(ctx, ep.events, ep.replay, next, "", client_security());
  std::string body;
  uint64_t seq = 0;
  while (!intr.fired()) {
    const auto now = clock::now();
    if (now >= deadline) break;
    auto wait = std::min<clock::duration>(deadline - now, std::chrono::milliseconds(200));
    if (!sub.next(body, seq, std::chrono::duration_cast<std::chrono::milliseconds>(wait))) continue;
    auto ev = event_json({body.data(), body.size()});
    if (ev.is_discarded()) {
      std::cerr << "rill: event " << seq << " is not a MessagePack map (" << body.size()
                << " bytes)" << std::endl;
      continue;
    }
    if (!out.print(ev)) break;
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
