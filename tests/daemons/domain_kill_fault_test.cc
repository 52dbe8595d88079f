// The default domain end to end with real daemons, while projection daemons
// and sagas are killed with SIGKILL at random moments and restarted:
//   - every USD order gets exactly one EXCHANGE_RATE_SET (the exchange-rate
//     saga never repeats a command, never misses one), also while the rates
//     service fails every third request;
//   - classification commands: the last one per customer matches its rating,
//     and no customer gets the same classification twice in a row;
//   - the B campaign writes exactly one .eml per B customer, no more, none
//     missing, no temp file left, and the campaign model counts them;
//   - every read model killed along the way equals its own rebuild.
// And: with the rates service down, EUR orders keep flowing; once it is back
// the USD order's rate arrives.
// Rounds: RILL_FAULT_ROUNDS (default 20 kills; 100 for a long run).
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "tests/support/child_process.h"
#include "transport/client.h"

namespace rill::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

const std::vector<std::string> kModels = {"customers",         "top_customers",   "orders",
                                          "customer_analysis", "email_campaigns", "exchange_rates"};

std::string bin(const std::string& name) {
  return std::string(RILL_BIN_DIR) + "/" + name;
}

int rounds() {
  const char* v = std::getenv("RILL_FAULT_ROUNDS");
  const int n = v != nullptr ? std::atoi(v) : 0;
  return n > 0 ? n : 20;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

class DomainKill : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() / "d";
    fs::create_directories(data_ / "logs");
    core_.start({bin("rill-core"), "--data", data_.string()}, log("rill-core"));
    rates_.start({bin("rill-rates"), "--data", data_.string(), "--fail-every", "3", "--delay-ms", "3"},
                 log("rill-rates"));
    for (const auto& m : kModels) start_model(m);
    ASSERT_TRUE(eventually([&] { return call(cmd_ep(), {{"op", "ping"}}, 500ms).has_value(); },
                           30s))
        << read_file(log("rill-core"));
    for (const auto& m : kModels)
      ASSERT_TRUE(eventually([&] { return query(m, {{"q", "ping"}}, 500ms).has_value(); }, 30s))
          << m << ": " << read_file(log("rill-proj-" + m));
  }

  std::string log(const std::string& name) const { return (data_ / "logs" / (name + ".log")).string(); }
  std::string cmd_ep() const { return "ipc://" + (data_ / "run" / "command").string(); }
  std::string model_ep(const std::string& m) const {
    return "ipc://" + (data_ / "run" / ("model." + m)).string();
  }

  void start_model(const std::string& m) {
    // No notifier runs: change reports are dropped, which must not matter.
    // Short snapshot intervals so that restarts also load snapshots.
    proj_[m].start({bin("rill-proj"), "--data", data_.string(), "--models", m, "--snapshot-every",
                    "300", "--idle-spin-us", "0"},
                   log("rill-proj-" + m));
  }
  void kill_model(const std::string& m) {
    proj_[m].kill(SIGKILL);
    start_model(m);
  }

  std::optional<json> call(const std::string& ep, json req, std::chrono::milliseconds t = 5000ms) {
    transport::rpc_client c(ctx_, ep);
    return c.call(std::move(req), t);
  }
  std::optional<json> query(const std::string& m, json req, std::chrono::milliseconds t = 5000ms) {
    req["model"] = m;
    return call(model_ep(m), std::move(req), t);
  }
  // A query's result once the model answers it (it may be restarting).
  json result(const std::string& m, const std::string& q, json args = json::object()) {
    std::optional<json> r;
    eventually(
        [&] {
          r = query(m, {{"q", q}, {"args", args}}, 2000ms);
          return r.has_value() && (*r)["ok"] == true;
        },
        60s);
    EXPECT_TRUE(r && (*r)["ok"] == true) << m << " " << q << ": " << (r ? r->dump() : "no reply");
    return r ? (*r)["result"] : json();
  }
  uint64_t head() {
    auto r = call(cmd_ep(), {{"op", "status"}});
    return r ? r->value("head", uint64_t{0}) : 0;
  }
  // Sends a batch; every command must succeed (a `dup` is fine: a retry).
  void send_batch(const json& cmds) {
    auto r = call(cmd_ep(), {{"batch", cmds}}, 10000ms);
    ASSERT_TRUE(r && (*r)["ok"] == true) << (r ? r->dump() : "no reply");
    for (const auto& x : (*r)["results"]) ASSERT_EQ(x["ok"], true) << x.dump();
  }
  // Every event in the journal, from the replay endpoint.
  std::vector<json> all_events() {
    std::vector<json> out;
    const std::string ep = "ipc://" + (data_ / "run" / "replay").string();
    for (uint64_t from = 1;;) {
      auto r = call(ep, {{"from", from}, {"max", 4096}});
      EXPECT_TRUE(r && (*r)["ok"] == true);
      if (!r || (*r)["events"].empty()) break;
      for (auto& e : (*r)["events"]) out.push_back(e);
      from = out.back()["seq"].get<uint64_t>() + 1;
    }
    return out;
  }
  // The model has applied everything in the journal.
  bool caught_up(const std::string& m) {
    const uint64_t h = head();
    auto r = query(m, {{"q", "status"}, {"after", h}, {"timeout_ms", 2000}}, 3000ms);
    return r && (*r)["ok"] == true;
  }
  // The state a query shows, before and after a rebuild, must be equal.
  void expect_equals_rebuild(const std::string& m, const std::vector<std::pair<std::string, json>>& qs) {
    ASSERT_TRUE(eventually([&] { return caught_up(m); }, 60s)) << m;
    std::vector<json> before;
    for (const auto& [q, a] : qs) before.push_back(result(m, q, a));
    const auto st = result(m, "status");
    const uint64_t rebuilds = st.value("rebuilds", uint64_t{0});
    auto r = query(m, {{"q", "rebuild"}});
    ASSERT_TRUE(r && (*r)["ok"] == true) << m << ": " << (r ? r->dump() : "no reply");
    ASSERT_TRUE(eventually(
        [&] {
          auto s = query(m, {{"q", "status"}}, 1000ms);
          return s && (*s)["ok"] == true && (*s)["result"].value("rebuilds", uint64_t{0}) > rebuilds &&
                 !(*s)["result"].value("rebuilding", false);
        },
        120s))
        << m << ": " << read_file(log("rill-proj-" + m));
    for (size_t i = 0; i < qs.size(); ++i)
      EXPECT_EQ(result(m, qs[i].first, qs[i].second), before[i]) << m << " " << qs[i].first;
  }

  temp_dir dir_{"rdomk"};
  fs::path data_;
  zmq::context_t ctx_;
  child_process core_, rates_;
  std::map<std::string, child_process> proj_;
};

TEST_F(DomainKill, SagasAndModelsSurviveSigkillAtRandomMoments) {
  std::mt19937 rng(std::random_device{}());
  const int kills = rounds();
  const int kCustomers = 120;
  // Customers, then orders in waves; a random daemon is killed between waves
  // (and the waves are small so that kills land while sagas are working).
  json cmds = json::array();
  for (int c = 0; c < kCustomers; ++c) {
    const std::string id = "c" + std::to_string(c);
    cmds.push_back({{"cmd", "CREATE_CUSTOMER"},
                    {"agg", "customer"},
                    {"id", id},
                    {"key", "create:" + id},
                    {"data", {{"name", "Customer " + id}, {"email", id + "@example.com"}}}});
  }
  send_batch(cmds);
  std::set<std::string> usd_orders, all_orders;
  const std::vector<std::string> victims = {"exchange_rates", "customer_analysis", "orders",
                                            "top_customers", "customers"};
  int order_no = 0;
  for (int wave = 0; wave < kills; ++wave) {
    cmds = json::array();
    for (int k = 0; k < 12; ++k, ++order_no) {
      const std::string id = "o" + std::to_string(order_no);
      const std::string cust = "c" + std::to_string(rng() % kCustomers);
      const bool usd = rng() % 2 == 0;
      const double amount = 50.0 + static_cast<double>(rng() % 1500);
      cmds.push_back({{"cmd", "CREATE_ORDER"},
                      {"agg", "order"},
                      {"id", id},
                      {"key", "order:" + id},
                      {"data", {{"customer_id", cust}, {"amount", amount}, {"currency", usd ? "USD" : "EUR"}}}});
      all_orders.insert(id);
      if (usd) usd_orders.insert(id);
    }
    send_batch(cmds);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 150));
    kill_model(victims[rng() % victims.size()]);
  }

  // Every USD order gets its rate, despite the kills and a flaky rates service.
  ASSERT_TRUE(eventually(
      [&] {
        auto p = query("exchange_rates", {{"q", "pending"}, {"after", head()}}, 3000ms);
        return p && (*p)["ok"] == true && (*p)["result"].empty() && caught_up("exchange_rates");
      },
      180s))
      << read_file(log("rill-proj-exchange_rates"));
  for (const auto& id : usd_orders) {
    auto o = result("exchange_rates", "get", {{"id", id}});
    EXPECT_EQ(o["state"], "done") << o.dump();
  }
  // Classification settles: no command pending, and every customer with a
  // rating other than the initial one has been assigned it.
  std::map<std::string, std::string> rating;
  json last;
  ASSERT_TRUE(eventually(
      [&] {
        if (!caught_up("customer_analysis")) return false;
        rating.clear();
        for (int c = 0; c < kCustomers; ++c) {
          const std::string id = "c" + std::to_string(c);
          auto r = query("customer_analysis", {{"q", "rating"}, {"args", {{"id", id}}}}, 2000ms);
          if (!r || (*r)["ok"] != true) return false;
          last = (*r)["result"];
          if (last.contains("pending") && !last["pending"].is_null()) return false;
          rating[id] = last["classification"];
        }
        return caught_up("customers");
      },
      180s))
      << last.dump() << read_file(log("rill-proj-customer_analysis"));

  // The campaign to the B customers, with kills of its saga while it writes.
  std::set<std::string> b_customers;
  for (const auto& [id, cls] : rating)
    if (cls == "B") b_customers.insert(id);
  ASSERT_FALSE(b_customers.empty());
  send_batch(json::array({{{"cmd", "RUN_EMAIL_CAMPAIGN"},
                           {"agg", "campaign"},
                           {"id", "spring"},
                           {"key", "campaign:spring"},
                           {"data", {{"segment", "B"}, {"subject", "Spring"}, {"body", "Hello"}}}}}));
  for (int k = 0; k < std::max(3, kills / 4); ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 120));
    kill_model("email_campaigns");
  }
  json campaign;
  ASSERT_TRUE(eventually(
      [&] {
        auto r = query("email_campaigns", {{"q", "get"}, {"args", {{"id", "spring"}}}}, 2000ms);
        if (!r || (*r)["ok"] != true) return false;
        campaign = (*r)["result"];
        return campaign.value("sent", 0) == static_cast<int>(b_customers.size());
      },
      180s))
      << campaign.dump() << read_file(log("rill-proj-email_campaigns"));
  EXPECT_EQ(campaign["recipients"], b_customers.size());

  // The outbox: one message per B customer, nothing else.
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(data_ / "outbox" / "spring")) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".eml")) {
      files.insert(name.substr(0, name.size() - 4));
      const std::string text = read_file(e.path());
      EXPECT_NE(text.find(name.substr(0, name.size() - 4) + "@example.com"), std::string::npos) << text;
    } else {
      ADD_FAILURE() << "stray file in the outbox: " << name;
    }
  }
  EXPECT_EQ(files, b_customers);

  // The journal: exactly one rate per USD order, none for EUR; classification
  // commands never repeat, and the last one matches the rating.
  std::map<std::string, int> rates_set;
  std::map<std::string, std::vector<std::string>> classes;
  std::set<std::string> created;
  uint64_t expect_seq = 1;
  for (const auto& e : all_events()) {
    EXPECT_EQ(e["seq"], expect_seq++) << "seq must be dense";
    const std::string type = e["type"];
    if (type == "EXCHANGE_RATE_SET") {
      ++rates_set[e["id"]];
      EXPECT_TRUE(e.contains("key")) << "a saga's command carries an idempotency key: " << e.dump();
    }
    if (type == "CUSTOMER_CLASSIFICATION_UPDATED")
      classes[e["id"]].push_back(e["data"]["classification"]);
    if (type == "ORDER_CREATED") {
      EXPECT_TRUE(created.insert(e["id"]).second);
    }
  }
  EXPECT_EQ(created, all_orders);
  for (const auto& id : all_orders)
    EXPECT_EQ(rates_set[id], usd_orders.contains(id) ? 1 : 0) << id;
  for (const auto& [id, cls] : rating) {
    const auto& seen = classes[id];
    if (seen.empty()) {
      EXPECT_EQ(cls, "C") << id << ": rated without a classification command";
      continue;
    }
    EXPECT_EQ(seen.back(), cls) << id;
    for (size_t i = 1; i < seen.size(); ++i)
      EXPECT_NE(seen[i], seen[i - 1]) << id << ": the same classification sent twice";
  }

  std::printf("%d kills; %zu orders (%zu USD), %zu events, %zu B customers mailed, %zu classification "
              "events\n",
              kills, all_orders.size(), usd_orders.size(), static_cast<size_t>(expect_seq - 1),
              files.size(), [&] {
                size_t n = 0;
                for (const auto& [id, v] : classes) n += v.size();
                return n;
              }());
  // Every model that was killed equals its own rebuild.
  std::vector<std::pair<std::string, json>> by_customer;
  for (int c = 0; c < kCustomers; ++c)
    by_customer.push_back({"by_customer", {{"customer_id", "c" + std::to_string(c)}}});
  expect_equals_rebuild("orders", by_customer);
  expect_equals_rebuild("customers", {{"list", {{"limit", 10000}}}});
  expect_equals_rebuild("top_customers", {{"top", {{"n", 10000}}}});
  expect_equals_rebuild("customer_analysis", {{"segment", {{"classification", "A"}}},
                                              {"segment", {{"classification", "B"}}},
                                              {"segment", {{"classification", "C"}}}});

  for (auto& [m, p] : proj_) EXPECT_TRUE(p.running()) << m << ": " << read_file(log("rill-proj-" + m));
  EXPECT_TRUE(core_.running()) << read_file(log("rill-core"));
}

TEST_F(DomainKill, RatesServiceDownThenUpTheRateArrivesAndOtherOrdersFlow) {
  rates_.kill(SIGKILL);
  send_batch(json::array({{{"cmd", "CREATE_CUSTOMER"},
                           {"agg", "customer"},
                           {"id", "ada"},
                           {"data", {{"name", "Ada"}, {"email", "ada@example.com"}}}}}));
  auto order = [](const std::string& id, const std::string& cur) {
    return json{{"cmd", "CREATE_ORDER"},
                {"agg", "order"},
                {"id", id},
                {"data", {{"customer_id", "ada"}, {"amount", 100.0}, {"currency", cur}}}};
  };
  send_batch(json::array({order("usd-1", "USD")}));
  // While the rates service is down, EUR orders keep flowing through the models.
  for (int i = 0; i < 20; ++i) {
    send_batch(json::array({order("eur-" + std::to_string(i), "EUR")}));
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(eventually([&] { return caught_up("orders"); }, 30s));
  EXPECT_EQ(result("orders", "get", {{"id", "eur-19"}})["amount_base"], 100.0);
  const auto pending = result("orders", "get", {{"id", "usd-1"}});
  EXPECT_FALSE(pending.contains("rate")) << pending.dump();
  const auto fx = result("exchange_rates", "get", {{"id", "usd-1"}});
  EXPECT_NE(fx["state"], "done") << fx.dump();
  EXPECT_GE(fx["attempts"].get<int>(), 1) << fx.dump();
  // The service comes back: the rate arrives (retries with capped backoff).
  rates_.start({bin("rill-rates"), "--data", data_.string()}, log("rill-rates"));
  json o;
  ASSERT_TRUE(eventually(
      [&] {
        auto r = query("orders", {{"q", "get"}, {"args", {{"id", "usd-1"}}}}, 1000ms);
        if (!r || (*r)["ok"] != true) return false;
        o = (*r)["result"];
        return o.contains("rate");
      },
      90s))
      << o.dump() << read_file(log("rill-proj-exchange_rates"));
  EXPECT_NEAR(o["rate"].get<double>(), 1 / 1.0705, 1e-9);
  EXPECT_NEAR(o["amount_base"].get<double>(), 100 / 1.0705, 1e-6);
}

}  // namespace
}  // namespace rill::test
