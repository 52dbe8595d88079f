// rill query: ask a read model.
#include <iostream>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemons/rill/client_call.h"
#include "daemons/rill/commands.h"
#include "daemons/rill/field_values.h"
#include "daemons/rill/model_list.h"
#include "daemons/rill/output.h"
#include "transport/endpoints.h"

namespace rill::cli {

namespace {

struct query_flags {
  std::vector<std::string> args;  // MODEL Q arg=value...
  uint64_t after = 0;
  bool has_after = false;
  int64_t timeout_ms = 1000;
};

int run_query(global_options& g, const query_flags& f) {
  if (f.args.size() < 2) return usage_error("query", "expected MODEL Q [arg=value ...]");
  if (f.timeout_ms <= 0) return usage_error("query", "--timeout-ms must be positive");
  const std::string model = f.args[0], q = f.args[1];
  nlohmann::json args = nlohmann::json::object();
  std::string error;
  if (!parse_fields({f.args.begin() + 2, f.args.end()}, args, error))
    return usage_error("query", error);

  const auto data = g.data_dir();
  const auto ep = transport::discover_endpoints(data);
  auto it = ep.models.find(model);
  const bool listed = it != ep.models.end() || is_known_model(model);
  const std::string endpoint =
      it != ep.models.end() ? it->second : transport::default_model_endpoint(data, model);
  nlohmann::json req = {{"model", model}, {"q", q}, {"args", args}, {"timeout_ms", f.timeout_ms}};
  if (f.has_after) req["after"] = f.after;

  zmq::context_t ctx;
  // The server waits up to timeout_ms for `after`; give the reply time to come.
  const auto timeout = std::chrono::milliseconds(f.timeout_ms + 2000);
  auto r = call_endpoint(ctx, endpoint, req, timeout);
  if (r.status == call_status::not_running && !listed &&
      data_dir_denied(g.data_dir(), "run").empty())
    return report("unknown_model",
                  "no read model named '" + model + "' (no socket at " + endpoint + ")",
                  exit_refused);
  if (r.status != call_status::replied)
    return report_unreachable(g, "read model " + model, endpoint, r, timeout);
  auto& reply = r.reply;
  reply.erase("req");
  if (g.json) std::cout << reply.dump() << std::endl;
  if (!reply.value("ok", false)) return report_refusal(reply);
  if (!g.json) print_value(std::cout, reply.value("result", nlohmann::json(nullptr)));
  return exit_ok;
}

}  // namespace

void add_query_command(CLI::App& app, global_options& g) {
  auto f = std::make_shared<query_flags>();
  auto* sub = app.add_subcommand("query", "Ask a read model (MODEL Q [arg=value ...])");
  add_global_flags(*sub, g);
  sub->add_option("args", f->args, "MODEL Q [arg=value ...] (values as for send)")
      ->type_name("MODEL Q ARG=VALUE");
  auto* after = sub->add_option(
      "--after", f->after, "Answer only once the model has applied this seq (read-your-writes)");
  sub->add_option("--timeout-ms", f->timeout_ms,
                  "How long the model may wait for --after (default 1000)");
  sub->footer(
      "Examples:\n"
      "  rill query customers get id=c1\n"
      "  rill query orders get id=o1 --after 42\n"
      "  rill query top_customers top n=5");
  sub->callback([&g, f, after] {
    f->has_after = after->count() > 0;
    g.exit = run_query(g, *f);
  });
}

}  // namespace rill::cli
