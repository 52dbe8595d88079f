// The exchange-rate saga against a fake rill-core and a fake rates service.
#include <gtest/gtest.h>

#include "readmodels/models/exchange_rates_model.h"
#include "tests/readmodels/models_events.h"
#include "tests/readmodels/saga_fakes.h"

namespace rill::readmodels {
namespace {

using namespace testing;

json fast_settings() {
  // Short backoff; long command timeouts, so that a loaded test machine does
  // not cause extra resends the assertions would count.
  return {{"rates_timeout_ms", 100},
          {"command_timeout_ms", 10000},
          {"retry_initial_ms", 10},
          {"retry_max_ms", 80}};
}

std::unique_ptr<exchange_rates_model> make(const temp_dir& dir, json settings = fast_settings()) {
  return std::make_unique<exchange_rates_model>(
      exchange_rates_model::parse(config_in(dir, std::move(settings))));
}

std::string ep(const temp_dir& dir, const char* name) {
  return "ipc://" + dir.str() + "/" + name;
}

TEST(SagaExchangeRates, RatesDownThenUpSendsTheCommandOnceWithTheRightKey) {
  temp_dir dir;
  zmq::context_t ctx;
  fake_core core(ctx, ep(dir, "core.sock"));
  auto m = make(dir);
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.order("o1", "c1", 40, "USD");  // seq 2
  log.order("o2", "c1", 10, "EUR");  // nothing to do
  log.apply_to(*m);
  EXPECT_TRUE(m->busy());
  EXPECT_EQ(m->pending(), 1u) << "o1 waits for its rate; o2 is in the base currency";

  // The rates service is down: the lookup fails again and again, with backoff.
  ASSERT_TRUE(run_until(
      *m,
      [&] {
        return ok(*m, "get", {{"id", "o1"}})["attempts"].get<int>() >= 3;
      },
      [&] { core.serve(2ms, [](const json&) { return fake_core::ok(); }); }));
  json o1 = ok(*m, "get", {{"id", "o1"}});
  EXPECT_EQ(o1["state"], "waiting");
  EXPECT_TRUE(o1.contains("error"));
  EXPECT_TRUE(core.received.empty());

  // Up: one lookup answered, one command sent and acknowledged.
  fake_rates rates(ctx, ep(dir, "rates.sock"));
  auto service = [&] {
    rates.serve(2ms, [](const json& r) { return fake_rates::rate(r, 0.5); });
    core.serve(2ms, [](const json&) { return fake_core::ok(); });
  };
  ASSERT_TRUE(run_until(
      *m,
      [&] {
        return ok(*m, "get", {{"id", "o1"}})["state"] == "sent";
      },
      service));
  run_rounds(*m, 50, service);  // and nothing more happens
  ASSERT_EQ(core.received.size(), 1u);
  const json& cmd = core.received[0];
  EXPECT_EQ(cmd["cmd"], "SET_EXCHANGE_RATE");
  EXPECT_EQ(cmd["agg"], "order");
  EXPECT_EQ(cmd["id"], "o1");
  EXPECT_EQ(cmd["key"], "fx:o1:2");
  EXPECT_EQ(cmd["data"], (json{{"rate", 0.5}, {"base", "EUR"}}));
  ASSERT_GE(rates.received.size(), 1u);
  EXPECT_EQ(rates.received.back(), (json{{"base", "EUR"}, {"currency", "USD"}}));
  EXPECT_EQ(ok(*m, "pending"), json::array({"o1"}));

  // The event completes it.
  const size_t at = log.size();
  log.rate("o1", 0.5);
  log.apply_to(*m, at);
  EXPECT_EQ(ok(*m, "get", {{"id", "o1"}})["state"], "done");
  EXPECT_EQ(ok(*m, "pending"), json::array());
  EXPECT_FALSE(m->busy());
}

TEST(SagaExchangeRates, LookupsAreSharedPerCurrencyAndRepliesAreClassified) {
  temp_dir dir;
  zmq::context_t ctx;
  fake_core core(ctx, ep(dir, "core.sock"));
  fake_rates rates(ctx, ep(dir, "rates.sock"));
  json settings = fast_settings();
  settings["rates_timeout_ms"] = 10000;
  auto m = make(dir, settings);
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.order("dup", "c1", 1, "USD");  // 2: rill-core answers dup
  log.order("ovl", "c1", 1, "USD");  // 3: overloaded once, then ok
  log.order("bad", "c1", 1, "usd");  // 4: not_found -> given up
  log.order("gbp", "c1", 1, "GBP");  // 5: ok
  log.order("nf", "c1", 1, "XXX");   // 6: the rates service has no rate
  log.apply_to(*m);
  int overloaded = 0;
  auto service = [&] {
    rates.serve(2ms, [](const json& r) {
      if (r["currency"] == "XXX")
        return json{{"ok", false}, {"error", "not_found"}, {"message", "no XXX"}};
      return fake_rates::rate(r, r["currency"] == "USD" ? 0.25 : 1.5);
    });
    core.serve(2ms, [&](const json& c) -> std::optional<json> {
      if (c["id"] == "dup") return json{{"ok", true}, {"seq", 7}, {"ver", 2}, {"dup", true}};
      if (c["id"] == "ovl" && overloaded++ == 0) return fake_core::error("overloaded");
      if (c["id"] == "bad") return fake_core::error("not_found");
      return fake_core::ok();
    });
  };
  auto state = [&](const char* id) {
    return ok(*m, "get", {{"id", id}})["state"].get<std::string>();
  };
  ASSERT_TRUE(run_until(
      *m,
      [&] {
        return state("dup") == "sent" && state("ovl") == "sent" && state("bad") == "failed" &&
               state("gbp") == "sent" && state("nf") == "failed";
      },
      service));
  run_rounds(*m, 20, service);

  // One lookup per currency (none repeated: all succeeded at once).
  std::multiset<std::string> asked;
  for (const json& r : rates.received) asked.insert(r["currency"].get<std::string>());
  EXPECT_EQ(asked, (std::multiset<std::string>{"GBP", "USD", "XXX"}));
  // Every command with its key; the overloaded one twice with the same key.
  std::multiset<std::string> keys;
  for (const json& c : core.received) keys.insert(c["key"].get<std::string>());
  EXPECT_EQ(keys, (std::multiset<std::string>{"fx:dup:2", "fx:ovl:3", "fx:ovl:3", "fx:bad:4",
                                              "fx:gbp:5"}));
  EXPECT_EQ(ok(*m, "get", {{"id", "gbp"}})["rate"], 1.5);
  EXPECT_NE(ok(*m, "get", {{"id", "bad"}})["error"].get<std::string>().find("not_found"),
            std::string::npos);
  EXPECT_NE(ok(*m, "get", {{"id", "nf"}})["error"].get<std::string>().find("not_found"),
            std::string::npos);
  EXPECT_EQ(ok(*m, "pending"), json::array({"dup", "ovl", "gbp"}));
}

TEST(SagaExchangeRates, AnOrderInBackoffDoesNotStallTheOthers) {
  temp_dir dir;
  zmq::context_t ctx;
  fake_core core(ctx, ep(dir, "core.sock"));
  fake_rates rates(ctx, ep(dir, "rates.sock"));
  auto m = make(dir);
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.order("stuck", "c1", 1, "USD");
  log.apply_to(*m);
  auto service = [&] {
    rates.serve(2ms, [](const json& r) { return fake_rates::rate(r, 2); });
    core.serve(2ms, [&](const json& c) -> std::optional<json> {
      if (c["id"] == "stuck") return fake_core::error("unavailable");
      return fake_core::ok();
    });
  };
  ASSERT_TRUE(run_until(
      *m,
      [&] {
        return ok(*m, "get", {{"id", "stuck"}})["attempts"].get<int>() >= 2;
      },
      service));
  const size_t at = log.size();
  log.order("free", "c1", 1, "USD");
  log.apply_to(*m, at);
  ASSERT_TRUE(run_until(
      *m,
      [&] {
        return ok(*m, "get", {{"id", "free"}})["state"] == "sent";
      },
      service));
  EXPECT_EQ(ok(*m, "get", {{"id", "stuck"}})["state"], "sending");
}

TEST(SagaExchangeRates, ProgressSurvivesASnapshotAndIsResentWithTheSameKey) {
  temp_dir dir;
  zmq::context_t ctx;
  fake_core core(ctx, ep(dir, "core.sock"));
  fake_rates rates(ctx, ep(dir, "rates.sock"));
  auto m = make(dir, {{"command_timeout_ms", 60000}});
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.order("o1", "c1", 5, "JPY");
  log.apply_to(*m);
  // rill-core receives the command but never answers (it "crashes").
  ASSERT_TRUE(run_until(
      *m, [&] { return core.received.size() == 1; },
      [&] {
        rates.serve(2ms, [](const json& r) { return fake_rates::rate(r, 0.125); });
        core.serve(2ms, [](const json&) { return std::nullopt; });
      }));
  const std::string bytes = saved(*m);
  m.reset();  // the process dies

  auto restarted = make(dir, {{"command_timeout_ms", 60000}});
  std::string error;
  ASSERT_TRUE(restarted->load({bytes.data(), bytes.size()}, error)) << error;
  json o1 = ok(*restarted, "get", {{"id", "o1"}});
  EXPECT_EQ(o1["state"], "sending");
  EXPECT_EQ(o1["rate"], 0.125);
  ASSERT_TRUE(run_until(
      *restarted,
      [&] {
        return ok(*restarted, "get", {{"id", "o1"}})["state"] == "sent";
      },
      [&] {
        core.serve(2ms, [](const json&) {
          return json{{"ok", true}, {"seq", 3}, {"ver", 2}, {"dup", true}};
        });
      }));
  ASSERT_EQ(core.received.size(), 2u);
  EXPECT_EQ(core.received[1]["key"], "fx:o1:2");
  EXPECT_EQ(core.received[1]["data"], core.received[0]["data"]);
  EXPECT_EQ(rates.received.size(), 1u);  // the rate was not asked again
}

TEST(SagaExchangeRates, NoSideEffectsWhileReplayingOrWhenDisabled) {
  temp_dir dir;
  zmq::context_t ctx;
  fake_core core(ctx, ep(dir, "core.sock"));
  fake_rates rates(ctx, ep(dir, "rates.sock"));
  auto m = make(dir);
  json off = fast_settings();
  off["saga"] = false;
  auto disabled = make(dir, off);
  EXPECT_EQ(disabled->as_saga(), nullptr);
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.order("o1", "c1", 5, "USD");
  log.apply_to(*m);
  log.apply_to(*disabled);
  change_set ch;
  for (int i = 0; i < 50; ++i) {
    m->tick(saga_context{std::chrono::steady_clock::now(), true}, ch);
    disabled->tick(saga_context{std::chrono::steady_clock::now(), false}, ch);
    rates.serve(2ms, [](const json& r) { return fake_rates::rate(r, 1); });
  }
  EXPECT_TRUE(rates.received.empty());
  EXPECT_EQ(ok(*m, "get", {{"id", "o1"}})["state"], "waiting");
}

TEST(SagaExchangeRates, BadRatesRepliesAreRetriedAndNeverUsed) {
  temp_dir dir;
  zmq::context_t ctx;
  fake_core core(ctx, ep(dir, "core.sock"));
  fake_rates rates(ctx, ep(dir, "rates.sock"));
  auto m = make(dir);
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.order("o1", "c1", 5, "USD");
  log.apply_to(*m);
  int n = 0;
  auto service = [&] {
    rates.serve(2ms, [&](const json& r) -> json {
      switch (n++) {
        case 0:
          return {{"ok", true}, {"rate", -1}, {"currency", "USD"}};
        case 1:
          return {{"ok", true}, {"rate", 7}, {"currency", "GBP"}};  // not what was asked
        case 2:
          return {{"ok", true}};
        case 3:
          return "not a map";
        case 4:
          return {{"ok", false}, {"error", "unavailable"}};
        default:
          return fake_rates::rate(r, 0.5);
      }
    });
    core.serve(2ms, [](const json&) { return fake_core::ok(); });
  };
  ASSERT_TRUE(run_until(
      *m,
      [&] {
        return ok(*m, "get", {{"id", "o1"}})["state"] == "sent";
      },
      service));
  EXPECT_EQ(n, 6);
  ASSERT_EQ(core.received.size(), 1u);
  EXPECT_EQ(core.received[0]["data"]["rate"], 0.5);
  EXPECT_EQ(ok(*m, "get", {{"id", "o1"}})["attempts"], 0);
}

}  // namespace
}  // namespace rill::readmodels
