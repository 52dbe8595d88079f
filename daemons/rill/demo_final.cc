// rill demo, step 7: the final state of every read model.
#include <algorithm>
#include <set>

#include "daemons/rill/demo_scenario.h"

namespace rill::cli {

namespace {

nlohmann::json result_of(const nlohmann::json& reply) {
  return reply.is_object() && reply.value("ok", false)
             ? reply.value("result", nlohmann::json(nullptr))
             : nlohmann::json(nullptr);
}

}  // namespace

void demo_final_state(demo_session& s, const demo_cast& c, demo_progress& p) {
  s.step("The final state of every read model (as of seq " + std::to_string(p.last_seq) + ")");
  std::set<std::string> ours;
  for (const auto& cu : c.customers) ours.insert(cu.id);
  auto& final_state = s.report()["final_state"];

  // customers
  nlohmann::json customers = nlohmann::json::array();
  for (const auto& cu : c.customers) {
    auto x = result_of(s.query("customers", "get", {{"id", cu.id}}, p.last_seq, false));
    if (x.is_object()) customers.push_back(x);
  }
  s.say("> query customers get id=... --after " + std::to_string(p.last_seq));
  s.show(customers);
  final_state["customers"] = customers;
  bool classes = customers.size() == c.customers.size();
  for (const auto& cu : c.customers)
    for (const auto& x : customers)
      if (str_of(x, "id") == cu.id && str_of(x, "classification") != std::string(1, cu.expected))
        classes = false;
  s.check(classes, "customers: every customer with its classification");

  // top_customers
  auto top = result_of(s.query("top_customers", "top", {{"n", 10000}}, p.last_seq));
  nlohmann::json ranked = nlohmann::json::array();
  if (top.is_array())
    for (const auto& x : top)
      if (ours.count(str_of(x, "id"))) ranked.push_back(x);
  s.show(ranked);
  final_state["top_customers"] = ranked;
  std::vector<std::string> order;
  for (const auto& x : ranked) order.push_back(str_of(x, "id"));
  const std::vector<std::string> want = {c.customers[0].id, c.customers[1].id, c.customers[2].id,
                                         c.customers[3].id};
  s.check(order == want, "top_customers: ranked by revenue in EUR");

  // orders
  nlohmann::json orders = nlohmann::json::array();
  bool priced = true;
  for (const auto& cu : c.customers) {
    auto rows =
        result_of(s.query("orders", "by_customer", {{"customer_id", cu.id}}, p.last_seq, false));
    if (!rows.is_array()) {
      priced = false;
      continue;
    }
    for (const auto& o : rows) {
      if (!o.contains("amount_base")) priced = false;
      orders.push_back(o);
    }
  }
  s.say("> query orders by_customer customer_id=... --after " + std::to_string(p.last_seq));
  s.show(orders);
  final_state["orders"] = orders;
  s.check(priced && orders.size() == c.orders.size(), "orders: every order priced in EUR");

  // customer_analysis
  nlohmann::json segments = nlohmann::json::object();
  for (const char* cls : {"A", "B", "C"}) {
    auto ids = result_of(
        s.query("customer_analysis", "segment", {{"classification", cls}}, p.last_seq, false));
    nlohmann::json mine = nlohmann::json::array();
    if (ids.is_array())
      for (const auto& id : ids)
        if (id.is_string() && ours.count(id.get<std::string>())) mine.push_back(id);
    segments[cls] = mine;
  }
  s.say("> query customer_analysis segment classification=A|B|C --after " +
        std::to_string(p.last_seq));
  s.show(segments);
  final_state["customer_analysis"] = segments;
  bool seg_ok = true;
  for (const auto& cu : c.customers) {
    const auto& ids = segments[std::string(1, cu.expected)];
    if (std::find(ids.begin(), ids.end(), nlohmann::json(cu.id)) == ids.end()) seg_ok = false;
  }
  s.check(seg_ok, "customer_analysis: segments A, B, C as expected");

  // email_campaigns
  auto camp = result_of(s.query("email_campaigns", "get", {{"id", c.campaign}}, p.last_seq));
  s.show(camp);
  final_state["email_campaigns"] = camp;
  s.check(camp.is_object() && camp.value("sent", 0) >= 2,
          "email_campaigns: the campaign and its emails");

  // exchange_rates
  nlohmann::json fx = nlohmann::json::array();
  bool done = true;
  for (const auto& o : c.orders) {
    if (o.currency == "EUR") continue;
    auto r = result_of(s.query("exchange_rates", "get", {{"id", o.id}}, p.last_seq, false));
    if (!r.is_object() || str_of(r, "state") != "done") done = false;
    fx.push_back(r);
  }
  auto pending =
      result_of(s.query("exchange_rates", "pending", nlohmann::json::object(), p.last_seq, false));
  s.say("> query exchange_rates get id=... --after " + std::to_string(p.last_seq));
  s.show(fx);
  final_state["exchange_rates"] = fx;
  bool none_pending = pending.is_array();
  if (pending.is_array())
    for (const auto& o : c.orders)
      if (std::find(pending.begin(), pending.end(), nlohmann::json(o.id)) != pending.end())
        none_pending = false;
  s.check(done && none_pending, "exchange_rates: every foreign-currency order done, none pending");
}

}  // namespace rill::cli
