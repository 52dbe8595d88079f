// rill demo, steps 1-4: customers, orders, exchange rates, ratings.
#include "daemons/rill/demo_scenario.h"

#include <set>

#include "daemons/rill/event_text.h"

namespace rill::cli {

uint64_t seq_of(const nlohmann::json& v) {
  auto it = v.find("seq");
  return it != v.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

std::string str_of(const nlohmann::json& v, const char* key) {
  if (!v.is_object()) return {};
  auto it = v.find(key);
  return it != v.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool is_event(const nlohmann::json& ev, const char* type, const std::string& id) {
  return str_of(ev, "type") == type && (id.empty() || str_of(ev, "id") == id);
}

demo_cast make_demo_cast(const std::string& tag) {
  auto id = [&](const std::string& base) { return tag.empty() ? base : base + "-" + tag; };
  demo_cast c;
  c.customers = {
      {id("ada"), "Ada Lovelace", "ada@example.com", "GB", 'A'},
      {id("grace"), "Grace Hopper", "grace@example.com", "US", 'B'},
      {id("alan"), "Alan Turing", "alan@example.com", "GB", 'B'},
      {id("edsger"), "Edsger Dijkstra", "edsger@example.com", "NL", 'C'},
  };
  // Revenue in EUR: ada 12000 (A); grace 2500 USD ~ 2335 (B); alan 800 EUR
  // + 400 GBP ~ 1273 (B, only once the GBP rate is known); edsger 300 (C).
  c.orders = {
      {id("order-1"), c.customers[0].id, "EUR", 12000},
      {id("order-2"), c.customers[1].id, "USD", 2500},
      {id("order-3"), c.customers[2].id, "EUR", 800},
      {id("order-4"), c.customers[2].id, "GBP", 400},
      {id("order-5"), c.customers[3].id, "EUR", 300},
  };
  c.campaign = id("spring-offer");
  c.updated_email = "grace.hopper@example.com";
  return c;
}

void demo_create(demo_session& s, const demo_cast& c, demo_progress& p) {
  s.step("Create customers (one command each)");
  size_t created = 0;
  for (const auto& cu : c.customers) {
    auto r = s.send({{"cmd", "CREATE_CUSTOMER"},
                     {"agg", "customer"},
                     {"id", cu.id},
                     {"data", {{"name", cu.name}, {"email", cu.email}, {"country", cu.country}}},
                     {"key", "demo:create:" + cu.id}});
    if (r.is_object() && r.value("ok", false)) {
      ++created;
      p.last_seq = std::max(p.last_seq, seq_of(r));
    }
  }
  s.check(created == c.customers.size(), std::to_string(c.customers.size()) + " customers created",
          std::to_string(created) + " succeeded");

  s.step("Create orders in EUR, USD and GBP (one batch, validated in order)");
  nlohmann::json batch = nlohmann::json::array();
  for (const auto& o : c.orders)
    batch.push_back(
        {{"cmd", "CREATE_ORDER"},
         {"agg", "order"},
         {"id", o.id},
         {"data", {{"customer_id", o.customer_id}, {"amount", o.amount}, {"currency", o.currency}}},
         {"key", "demo:order:" + o.id}});
  auto r = s.send({{"batch", batch}, {"atomic", false}});
  size_t ok = 0;
  if (r.is_object() && r.value("ok", false) && r.contains("results") && r["results"].is_array()) {
    for (size_t i = 0; i < r["results"].size() && i < c.orders.size(); ++i) {
      const auto& x = r["results"][i];
      if (!x.value("ok", false)) continue;
      ++ok;
      p.order_seq[c.orders[i].id] = seq_of(x);
      p.last_seq = std::max(p.last_seq, seq_of(x));
    }
  }
  s.check(ok == c.orders.size(),
          std::to_string(c.orders.size()) + " orders created with consecutive seqs",
          std::to_string(ok) + " succeeded");
  auto wrong = s.send(
      {{"cmd", "CREATE_ORDER"},
       {"agg", "order"},
       {"id", c.orders[0].id + "-x"},
       {"data", {{"customer_id", "nobody-" + c.campaign}, {"amount", 10}, {"currency", "EUR"}}}});
  s.check(wrong.is_object() && str_of(wrong, "error") == "not_found",
          "an order for a customer that does not exist is refused (not_found) and not journaled");
}

void demo_rates(demo_session& s, const demo_cast& c, demo_progress& p) {
  s.step("The exchange-rate saga prices the foreign-currency orders");
  s.say("rill-proj (exchange_rates) asks rill-rates for each non-EUR order's rate and sends");
  s.say("SET_EXCHANGE_RATE back to rill-core; on the event feed:");
  auto print = [&](const nlohmann::json& ev) {
    if (str_of(ev, "type") == "EXCHANGE_RATE_SET") s.say("feed  " + event_line(ev));
  };
  for (const auto& o : c.orders) {
    if (o.currency == "EUR") continue;
    auto ev = s.feed().wait_for(
        [&](const nlohmann::json& e) { return is_event(e, "EXCHANGE_RATE_SET", o.id); },
        s.step_timeout(), 0, print);
    if (!s.check(ev.has_value(),
                 "SET_EXCHANGE_RATE for " + o.id + " (" + o.currency + ") arrived on the feed",
                 "none within " + std::to_string(s.step_timeout().count()) + " ms"))
      continue;
    const uint64_t seq = seq_of(*ev);
    p.last_seq = std::max(p.last_seq, seq);
    auto q = s.query("orders", "get", {{"id", o.id}}, seq);
    const auto res =
        q.is_object() ? q.value("result", nlohmann::json(nullptr)) : nlohmann::json(nullptr);
    s.show(res);
    const bool priced = res.is_object() && res.contains("rate") && res["rate"].is_number() &&
                        res.contains("amount_base") && res["amount_base"].is_number();
    s.check(priced && q.value("seq", uint64_t{0}) >= seq,
            "the orders model has applied it (query --after " + std::to_string(seq) + "): " + o.id +
                " has a rate and an amount in EUR",
            q.is_object() ? q.dump() : "no reply");
  }
  // An order in the base currency needs no rate: it is priced at once.
  const auto& eur = c.orders.front();
  auto q = s.query("orders", "get", {{"id", eur.id}}, p.order_seq[eur.id]);
  const auto res =
      q.is_object() ? q.value("result", nlohmann::json(nullptr)) : nlohmann::json(nullptr);
  s.show(res);
  s.check(res.is_object() && res.value("amount_base", 0.0) == eur.amount,
          "the EUR order " + eur.id + " counts at its own amount");
}

void demo_ratings(demo_session& s, const demo_cast& c, demo_progress& p) {
  s.step("Ratings change; the classification saga updates the customers");
  s.say(
      "customer_analysis rates customers A/B/C by revenue in EUR (A >= 10000, B >= 1000 by "
      "default)");
  s.say("and sends UPDATE_CUSTOMER_CLASSIFICATION when a rating changes; on the feed:");
  std::map<std::string, std::string> latest;
  std::map<std::string, char> expected;
  for (const auto& cu : c.customers) expected[cu.id] = cu.expected;
  auto settled = [&](const nlohmann::json& ev) {
    if (is_event(ev, "CUSTOMER_CLASSIFICATION_UPDATED", "") && expected.count(str_of(ev, "id"))) {
      latest[str_of(ev, "id")] =
          str_of(ev.value("data", nlohmann::json::object()), "classification");
      p.last_seq = std::max(p.last_seq, seq_of(ev));
      s.say("feed  " + event_line(ev));
    }
    for (const auto& [id, want] : expected) {
      auto it = latest.find(id);
      if (it == latest.end() || it->second != std::string(1, want)) return false;
    }
    return true;
  };
  auto done = s.feed().wait_for(settled, s.step_timeout() * 2);
  for (const auto& cu : c.customers) {
    auto it = latest.find(cu.id);
    const std::string got = it == latest.end() ? "none" : it->second;
    s.check(got == std::string(1, cu.expected),
            cu.id + " is classified " + std::string(1, cu.expected),
            "latest classification: " + got);
  }
  (void)done;
  nlohmann::json rows = nlohmann::json::array();
  bool consistent = true;
  for (const auto& cu : c.customers) {
    auto q = s.query("customer_analysis", "rating", {{"id", cu.id}}, p.last_seq, false);
    auto r = q.is_object() ? q.value("result", nlohmann::json(nullptr)) : nlohmann::json(nullptr);
    if (!r.is_object()) {
      consistent = false;
      continue;
    }
    rows.push_back(r);
    if (str_of(r, "classification") != std::string(1, cu.expected)) consistent = false;
  }
  s.say("> query customer_analysis rating id=... --after " + std::to_string(p.last_seq));
  s.show(rows);
  s.check(consistent, "customer_analysis rates every customer as expected");
}

}  // namespace rill::cli
