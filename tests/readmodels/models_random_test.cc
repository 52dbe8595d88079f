// Thousands of random valid events; every model's answers must equal a
// simple reference computed here from the same events. Amounts and rates are
// chosen so that revenue sums are exact in binary floating point (integers
// and halves times dyadic rates), so answers compare exactly, whatever the
// summation order.
#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "readmodels/registry.h"
#include "tests/readmodels/models_events.h"

namespace rill::readmodels {
namespace {

using testing::ask;
using testing::event_log;
using testing::json;
using testing::ok;
using testing::temp_dir;

struct ref_customer {
  std::string id, name, email;
  std::optional<std::string> country, cls;
  uint64_t version = 0;
  std::optional<std::string> pending;  // classification saga
};
struct ref_order {
  std::string id, customer, currency;  // currency as given
  double amount = 0;
  std::optional<double> rate;
  bool had_rate_event = false;
};
struct ref_campaign {
  std::string id, segment, subject;
  std::vector<std::string> recipients;
};

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

class reference {
 public:
  std::vector<ref_customer> customers;  // creation order
  std::map<std::string, size_t> customer_at;
  std::vector<ref_order> orders;  // seq order
  std::map<std::string, size_t> order_at;
  std::vector<ref_campaign> campaigns;

  double revenue(const std::string& customer) const {
    double sum = 0;
    for (const ref_order& o : orders)
      if (o.customer == customer && o.rate) sum += o.amount * *o.rate;
    return sum;
  }
  static std::string rating(double revenue) {
    return revenue >= 10000 ? "A" : revenue >= 1000 ? "B" : "C";
  }
  void after_revenue_change(const std::string& customer, double before) {
    const double after = revenue(customer);
    if (after == before) return;
    ref_customer& c = customers[customer_at.at(customer)];
    const std::string target = rating(after);
    const std::optional<std::string> expected = c.pending ? c.pending : c.cls;
    if (expected != target) c.pending = target;
  }
};

TEST(ModelsRandom, EveryModelAgreesWithTheReference) {
  temp_dir dir;
  std::mt19937_64 rng(20240611);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const std::vector<std::string> currencies = {"EUR", "USD", "GBP", "JPY", "eur", "Usd"};
  const std::vector<double> rates = {0.5, 0.25, 1.5, 2, 0.125, 3, 1};
  const std::vector<std::string> classes = {"A", "B", "C"};

  event_log log;
  reference ref;
  for (int i = 0; i < 6000; ++i) {
    const size_t kind = ref.customers.empty() ? 0 : pick(100);
    if (kind < 15) {  // create a customer
      const std::string id = "c" + std::to_string(ref.customers.size() * 7 % 1000) + "-" +
                             std::to_string(ref.customers.size());
      ref_customer c{id, "name" + std::to_string(pick(50)), "u" + std::to_string(i) + "@x.org"};
      if (pick(2) == 0) c.country = "DE";
      c.version = 1;
      log.customer(c.id, c.name, c.email, c.country ? c.country->c_str() : nullptr);
      ref.customer_at[id] = ref.customers.size();
      ref.customers.push_back(c);
    } else if (kind < 22) {  // update a customer
      ref_customer& c = ref.customers[pick(ref.customers.size())];
      json d = json::object();
      if (pick(2) == 0) d["name"] = c.name = "renamed" + std::to_string(i);
      if (pick(2) == 0) d["email"] = c.email = "m" + std::to_string(i) + "@y.org";
      if (d.empty() || pick(3) == 0) d["country"] = *(c.country = "FR");
      ++c.version;
      log.add("CUSTOMER_UPDATED", "customer", c.id, d);
    } else if (kind < 30) {  // classification
      ref_customer& c = ref.customers[pick(ref.customers.size())];
      const std::string cls = classes[pick(3)];
      c.cls = cls;
      ++c.version;
      if (c.pending == cls) c.pending.reset();
      log.classify(c.id, cls);
    } else if (kind < 65) {  // order
      const std::string customer = ref.customers[pick(ref.customers.size())].id;
      ref_order o{"o" + std::to_string(i), customer, currencies[pick(currencies.size())]};
      o.amount = static_cast<double>(1 + pick(4000)) + (pick(2) == 0 ? 0.5 : 0.0);
      if (upper(o.currency) == "EUR") o.rate = 1;
      const double before = ref.revenue(customer);
      log.order(o.id, o.customer, o.amount, o.currency);
      ref.order_at[o.id] = ref.orders.size();
      ref.orders.push_back(o);
      ref.after_revenue_change(customer, before);
    } else if (kind < 95 && !ref.orders.empty()) {  // rate, mostly for orders still without one
      size_t at = pick(ref.orders.size());
      for (size_t tries = 0; tries < 5 && ref.orders[at].rate; ++tries)
        at = pick(ref.orders.size());
      ref_order& o = ref.orders[at];
      const double rate = rates[pick(rates.size())];
      const bool foreign = pick(10) == 0;
      log.rate(o.id, rate, foreign ? "GBP" : (pick(2) == 0 ? "EUR" : "eur"));
      if (!foreign) {
        const double before = ref.revenue(o.customer);
        o.rate = rate;
        o.had_rate_event = true;
        ref.after_revenue_change(o.customer, before);
      }
    } else {  // campaign
      ref_campaign k{"k" + std::to_string(i), classes[pick(3)], "subject " + std::to_string(i)};
      for (const ref_customer& c : ref.customers)
        if (c.cls == k.segment) k.recipients.push_back(c.id);
      log.campaign(k.id, k.segment, k.subject, "body");
      ref.campaigns.push_back(k);
    }
  }
  ASSERT_GT(ref.orders.size(), 1000u);
  ASSERT_GT(ref.campaigns.size(), 10u);

  std::map<std::string, std::unique_ptr<read_model>> models;
  for (const std::string& name : model_names()) {
    const bool saga =
        name == "customer_analysis" || name == "email_campaigns" || name == "exchange_rates";
    models[name] =
        make_model(name, testing::config_in(dir, saga ? json{{"saga", false}} : json::object()));
    ASSERT_NE(models[name], nullptr);
    // Half the events, a snapshot round trip, then the rest.
    change_set changed;
    const size_t half = log.size() / 2;
    for (size_t i = 0; i < half; ++i) models[name]->apply(log[i], changed);
    const std::string bytes = testing::saved(*models[name]);
    auto copy = models[name]->clone_empty();
    std::string error;
    ASSERT_TRUE(copy->load({bytes.data(), bytes.size()}, error)) << error;
    for (size_t i = half; i < log.size(); ++i) copy->apply(log[i], changed);
    models[name] = std::move(copy);
  }

  // customers
  const read_model& customers = *models["customers"];
  json all = json::array();
  for (uint64_t offset = 0;; offset += 37) {
    json page = ok(customers, "list", {{"offset", offset}, {"limit", 37}});
    if (page.empty()) break;
    for (auto& c : page) all.push_back(c);
  }
  ASSERT_EQ(all.size(), ref.customers.size());
  for (size_t i = 0; i < ref.customers.size(); ++i) {
    const ref_customer& c = ref.customers[i];
    json expected = {{"id", c.id},
                     {"name", c.name},
                     {"email", c.email},
                     {"country", c.country ? json(*c.country) : json(nullptr)},
                     {"classification", c.cls ? json(*c.cls) : json(nullptr)},
                     {"version", c.version}};
    ASSERT_EQ(all[i], expected);
    ASSERT_EQ(ok(customers, "get", {{"id", c.id}}), expected);
  }

  // top_customers
  std::vector<std::pair<double, std::string>> ranking;
  for (const ref_customer& c : ref.customers) ranking.emplace_back(-ref.revenue(c.id), c.id);
  std::sort(ranking.begin(), ranking.end());
  json top = ok(*models["top_customers"], "top", {{"n", 10000}});
  ASSERT_EQ(top.size(), ranking.size());
  for (size_t i = 0; i < ranking.size(); ++i) {
    const ref_customer& c = ref.customers[ref.customer_at[ranking[i].second]];
    ASSERT_EQ(top[i], (json{{"id", c.id}, {"name", c.name}, {"revenue", -ranking[i].first}})) << i;
  }

  // orders
  const read_model& orders = *models["orders"];
  auto order_json = [&](const ref_order& o) {
    json j = {{"id", o.id},
              {"customer_id", o.customer},
              {"customer_name", ref.customers[ref.customer_at[o.customer]].name},
              {"amount", o.amount},
              {"currency", o.currency}};
    if (o.rate) {
      j["rate"] = *o.rate;
      j["amount_base"] = o.amount * *o.rate;
    }
    return j;
  };
  for (const ref_order& o : ref.orders) ASSERT_EQ(ok(orders, "get", {{"id", o.id}}), order_json(o));
  for (const ref_customer& c : ref.customers) {
    json expected = json::array();
    for (const ref_order& o : ref.orders)
      if (o.customer == c.id) expected.push_back(order_json(o));
    ASSERT_EQ(ok(orders, "by_customer", {{"customer_id", c.id}}), expected);
  }

  // customer_analysis
  const read_model& analysis = *models["customer_analysis"];
  std::map<std::string, json> segments = {
      {"A", json::array()}, {"B", json::array()}, {"C", json::array()}};
  std::vector<std::string> sorted_ids;
  for (const ref_customer& c : ref.customers) sorted_ids.push_back(c.id);
  std::sort(sorted_ids.begin(), sorted_ids.end());
  for (const std::string& id : sorted_ids) {
    const ref_customer& c = ref.customers[ref.customer_at[id]];
    const double revenue = ref.revenue(id);
    segments[reference::rating(revenue)].push_back(id);
    ASSERT_EQ(ok(analysis, "rating", {{"id", id}}),
              (json{{"id", id},
                    {"revenue", revenue},
                    {"classification", reference::rating(revenue)},
                    {"assigned", c.cls ? json(*c.cls) : json(nullptr)},
                    {"pending", c.pending ? json(*c.pending) : json(nullptr)}}));
  }
  for (const auto& [cls, ids] : segments)
    ASSERT_EQ(ok(analysis, "segment", {{"classification", cls}}), ids) << cls;

  // email_campaigns
  for (const ref_campaign& k : ref.campaigns) {
    json got = ok(*models["email_campaigns"], "get", {{"id", k.id}});
    ASSERT_EQ(got["segment"], k.segment);
    ASSERT_EQ(got["subject"], k.subject);
    ASSERT_EQ(got["recipients"], k.recipients.size());
    ASSERT_EQ(got["recipient_ids"], json(k.recipients));
    ASSERT_EQ(got["sent"], 0);
  }

  // exchange_rates
  const read_model& fx = *models["exchange_rates"];
  json pending = json::array();
  for (const ref_order& o : ref.orders) {
    const bool base = upper(o.currency) == "EUR";
    std::string state = base ? "base" : o.had_rate_event ? "done" : "waiting";
    if (state == "waiting") pending.push_back(o.id);
    json expected = {
        {"id", o.id}, {"currency", upper(o.currency)}, {"state", state}, {"attempts", 0}};
    if (o.rate) expected["rate"] = *o.rate;
    ASSERT_EQ(ok(fx, "get", {{"id", o.id}}), expected);
  }
  ASSERT_EQ(ok(fx, "pending"), pending);

  // A rebuild of each populated model: its clone_empty() (which may size
  // itself from the live state) starts empty and, fed every event from the
  // first, ends in the same state.
  for (const std::string& name : model_names()) {
    SCOPED_TRACE(name);
    auto rebuilt = models[name]->clone_empty();
    const read_model& fresh = *rebuilt;
    if (name == "customers") {
      EXPECT_EQ(ok(fresh, "list"), json::array());
    }
    if (name == "orders") {
      EXPECT_EQ(ask(fresh, "get", {{"id", ref.orders[0].id}}).code, errc::not_found);
    }
    const bool saga =
        name == "customer_analysis" || name == "email_campaigns" || name == "exchange_rates";
    EXPECT_EQ(testing::saved(fresh),
              testing::saved(*make_model(
                  name, testing::config_in(dir, saga ? json{{"saga", false}} : json::object()))));
    change_set changed;
    for (size_t i = 0; i < log.size(); ++i) rebuilt->apply(log[i], changed);
    EXPECT_EQ(testing::saved(*rebuilt), testing::saved(*models[name]));
  }
}

}  // namespace
}  // namespace rill::readmodels
