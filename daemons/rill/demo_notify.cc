// rill demo, step 5: a client watching a customer is notified of its change.
#include "daemons/rill/cli_options.h"
#include "daemons/rill/demo_scenario.h"
#include "transport/notify_client.h"

namespace rill::cli {

void demo_notify(demo_session& s, const demo_cast& c, demo_progress& p) {
  const auto& who = c.customers[1];
  s.step("A client watching " + who.id + " is notified when it changes");
  transport::notify_client nc(s.context(), s.endpoints().notify, {}, client_security());
  s.say("> watch customers " + who.id + "   (rill-notify, " + s.endpoints().notify + ")");
  const errc e = nc.watch("customers", who.id, s.step_timeout());
  if (!s.check(e == errc::ok, "rill-notify accepted the watch", std::string(to_string(e)))) return;

  auto r = s.send({{"cmd", "UPDATE_CUSTOMER"},
                   {"agg", "customer"},
                   {"id", who.id},
                   {"data", {{"email", c.updated_email}}},
                   {"key", "demo:update:" + who.id}});
  const uint64_t seq = r.is_object() && r.value("ok", false) ? seq_of(r) : 0;
  if (!s.check(seq > 0, "UPDATE_CUSTOMER accepted")) return;
  p.last_seq = std::max(p.last_seq, seq);

  using clock = std::chrono::steady_clock;
  std::optional<transport::note> got;
  for (auto deadline = clock::now() + s.step_timeout();
       clock::now() < deadline && !got && !s.interrupted();) {
    auto n = nc.next_note(std::chrono::milliseconds(200));
    if (!n) continue;
    // A note without a key says "the whole model changed": that covers our key too.
    if (!n->resync && n->model == "customers" && (!n->key || *n->key == who.id) && n->seq >= seq)
      got = n;
    else
      s.say("note  (skipped)  " + n->model + " " + n->key.value_or("*") + " seq " +
            std::to_string(n->seq) + (n->resync ? " resync" : ""));
  }
  if (got)
    s.say("note  changed  customers  " + (got->key ? "key " + *got->key : "(the whole model)") +
          "  seq " + std::to_string(got->seq));
  s.check(got.has_value(),
          "the watcher was notified of " + who.id + "'s change at seq " + std::to_string(seq));
  (void)nc.unwatch("customers", who.id, std::chrono::milliseconds(1000));

  auto q = s.query("customers", "get", {{"id", who.id}}, seq);
  auto res = q.is_object() ? q.value("result", nlohmann::json(nullptr)) : nlohmann::json(nullptr);
  s.show(res);
  s.check(str_of(res, "email") == c.updated_email,
          "read-your-writes: the customers model shows the new email");
}

}  // namespace rill::cli
