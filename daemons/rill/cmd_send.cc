// rill send: one command (or a batch) to rill-core.
#include <charconv>
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemons/rill/client_call.h"
#include "daemons/rill/commands.h"
#include "daemons/rill/field_values.h"
#include "daemons/rill/output.h"
#include "transport/endpoints.h"

namespace rill::cli {

namespace {

struct send_flags {
  std::vector<std::string> args;  // CMD AGG ID field=value...
  std::string key, corr, request;
  std::string expect_text;  // --expect as given (parsed in build_request)
  bool has_expect = false;
  bool atomic = false;
  int64_t timeout_ms = 5000;
};

std::string result_line(const nlohmann::json& r) {
  if (r.value("ok", false)) {
    std::string s = "ok  seq " + r.value("seq", nlohmann::json(nullptr)).dump() + "  ver " +
                    r.value("ver", nlohmann::json(nullptr)).dump();
    if (r.value("dup", false)) s += "  (duplicate key: nothing appended)";
    return s;
  }
  std::string s = "error  " + r.value("error", std::string("?"));
  if (r.contains("message") && r["message"].is_string())
    s += ": " + r["message"].get<std::string>();
  // (rill-core's version_conflict message names the current version.)
  return s;
}

int build_request(const send_flags& f, nlohmann::json& req) {
  int64_t expect = 0;
  if (f.has_expect) {
    const char* b = f.expect_text.data();
    const char* e = b + f.expect_text.size();
    auto [p, ec] = std::from_chars(b, e, expect);
    if (ec != std::errc() || p != e || b == e)
      return usage_error("send", "--expect must be a version number (0 = must not exist), not '" +
                                     f.expect_text + "'");
  }
  if (!f.request.empty()) {
    if (!f.args.empty())
      return usage_error("send",
                         "give either CMD AGG ID [field=value ...] or --json '{...}', not both");
    std::string text = f.request;
    if (text == "-") text.assign(std::istreambuf_iterator<char>(std::cin), {});
    req = nlohmann::json::parse(text, nullptr, false);
    if (req.is_discarded()) return usage_error("send", "--json: not valid JSON");
    if (req.is_array()) req = {{"batch", req}};
    if (!req.is_object())
      return usage_error("send", "--json: expected a JSON object (or an array: a batch)");
    if (f.atomic && req.contains("batch")) req["atomic"] = true;
    // --key, --corr and --expect go into the command; a batch carries them
    // per command, and a JSON that already says otherwise is a contradiction.
    std::vector<std::pair<const char*, nlohmann::json>> extra;
    if (!f.key.empty()) extra.emplace_back("key", f.key);
    if (!f.corr.empty()) extra.emplace_back("corr", f.corr);
    if (f.has_expect) extra.emplace_back("expect", expect);
    for (const auto& [name, value] : extra) {
      if (req.contains("batch"))
        return usage_error("send", std::string("--") + name +
                                       " applies to one command; in a batch, give \"" + name +
                                       "\" in each command's JSON");
      if (req.contains(name) && req[name] != value)
        return usage_error("send", std::string("--") + name + " " + value.dump() +
                                       " contradicts the JSON's \"" + name +
                                       "\": " + req[name].dump());
      req[name] = value;
    }
    return exit_ok;
  }
  if (f.args.size() < 3)
    return usage_error("send", "expected CMD AGG ID [field=value ...] (or --json '{...}')");
  nlohmann::json data = nlohmann::json::object();
  std::string error;
  if (!parse_fields({f.args.begin() + 3, f.args.end()}, data, error))
    return usage_error("send", error);
  req = {{"cmd", f.args[0]}, {"agg", f.args[1]}, {"id", f.args[2]}, {"data", data}};
  if (!f.key.empty()) req["key"] = f.key;
  if (!f.corr.empty()) req["corr"] = f.corr;
  if (f.has_expect) req["expect"] = expect;
  return exit_ok;
}

int run_send(global_options& g, const send_flags& f) {
  if (f.timeout_ms <= 0) return usage_error("send", "--timeout-ms must be positive");
  nlohmann::json req;
  if (int rc = build_request(f, req); rc != exit_ok) return rc;
  const bool own_req = !req.contains("req");
  const auto ep = transport::discover_endpoints(g.data_dir());
  zmq::context_t ctx;
  const auto timeout = std::chrono::milliseconds(f.timeout_ms);
  auto r = call_endpoint(ctx, ep.command, req, timeout);
  if (r.status != call_status::replied)
    return report_unreachable(g, "rill-core", ep.command, r, timeout);
  auto& reply = r.reply;
  if (own_req) reply.erase("req");

  const bool batch = reply.contains("results") && reply["results"].is_array();
  bool all_ok = reply.value("ok", false);
  if (batch)
    for (const auto& x : reply["results"])
      if (!x.value("ok", false)) all_ok = false;

  if (g.json) std::cout << reply.dump() << std::endl;
  if (!reply.value("ok", false)) return report_refusal(reply);
  if (batch) {
    size_t i = 0, failed = 0;
    for (const auto& x : reply["results"]) {
      if (!g.json) std::cout << "#" << ++i << "  " << result_line(x) << "\n";
      if (!x.value("ok", false)) ++failed;
    }
    if (!g.json && i == 0) std::cout << "ok  empty batch: nothing appended\n";
    std::cout.flush();
    if (failed > 0)
      return report("batch",
                    std::to_string(failed) + " of " + std::to_string(reply["results"].size()) +
                        " commands failed",
                    exit_refused);
    return exit_ok;
  }
  if (!g.json) {
    if (reply.contains("seq"))
      std::cout << result_line(reply) << std::endl;
    else
      print_value(std::cout, reply);  // an admin op: {"op": "status"} and the like
  }
  return all_ok ? exit_ok : exit_refused;
}

}  // namespace

void add_send_command(CLI::App& app, global_options& g) {
  auto f = std::make_shared<send_flags>();
  auto* sub = app.add_subcommand("send", "Send a command (or a batch) to rill-core");
  add_global_flags(*sub, g);
  sub->add_option("args", f->args,
                  "CMD AGG ID [field=value ...]: value is a number (JSON syntax), true/false, "
                  "else a string; field:=JSON for any JSON value")
      ->type_name("CMD AGG ID FIELD=VALUE");
  // An empty key would be dropped (no key: a repeat appends again).
  sub->add_option("--key", f->key, "Idempotency key")->check([](const std::string& v) {
    return v.empty() ? std::string("must not be empty") : std::string();
  });
  auto* expect =
      sub->add_option("--expect", f->expect_text, "Expected current version (0 = must not exist)")
          ->type_name("INT");
  sub->add_option("--corr", f->corr, "Correlation id, copied into the event");
  sub->add_option("--request", f->request,
                  "The request as JSON (what --json '{...}' becomes): a command map or a "
                  "batch {\"batch\": [...]}; an array is sent as a batch; '-' reads stdin")
      ->type_name("JSON");
  sub->add_flag("--atomic", f->atomic, "With a JSON array: an atomic batch");
  sub->add_option("--timeout-ms", f->timeout_ms, "How long to wait for the reply (default 5000)");
  sub->footer(
      "Examples:\n"
      "  rill send CREATE_CUSTOMER customer c1 name=Ada email=ada@example.com\n"
      "  rill send CREATE_ORDER order o1 customer_id=c1 amount=120.5 currency=USD --key o1\n"
      "  rill send --json '{\"batch\": [{\"cmd\": ..., \"agg\": ..., \"id\": ...}], \"atomic\": "
      "true}'");
  sub->callback([&g, f, expect] {
    f->has_expect = expect->count() > 0;
    g.exit = run_send(g, *f);
  });
}

}  // namespace rill::cli
