// The classification saga (customer_analysis) against a fake rill-core.
#include <gtest/gtest.h>

#include "readmodels/models/customer_analysis_model.h"
#include "tests/readmodels/models_events.h"
#include "tests/readmodels/saga_fakes.h"

namespace rill::readmodels {
namespace {

using namespace testing;

std::unique_ptr<customer_analysis_model> make(const temp_dir& dir, int command_timeout_ms = 10000) {
  return std::make_unique<customer_analysis_model>(
      customer_analysis_model::parse(config_in(dir, {{"command_timeout_ms", command_timeout_ms},
                                                     {"retry_initial_ms", 10},
                                                     {"retry_max_ms", 50},
                                                     {"thresholds", {{"A", 100}, {"B", 10}}}})));
}

std::string ep(const temp_dir& dir) {
  return "ipc://" + dir.str() + "/core.sock";
}

TEST(SagaClassification, SendsTheRatingWithAKeyFromTheCausingEvent) {
  temp_dir dir;
  zmq::context_t ctx;
  fake_core core(ctx, ep(dir));
  auto m = make(dir);
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.customer("c2", "Bob", "b@x");
  log.order("o1", "c1", 50, "EUR");  // seq 3: c1 -> B
  log.order("o2", "c2", 5, "USD");   // no rate yet: nothing
  log.rate("o2", 4);                 // seq 5: c2 revenue 20 -> B
  log.apply_to(*m);
  auto service = [&] { core.serve(2ms, [](const json&) { return fake_core::ok(); }); };
  ASSERT_TRUE(run_until(
      *m, [&] { return core.received.size() == 2 && !m->busy(); }, service));
  run_rounds(*m, 20, service);
  ASSERT_EQ(core.received.size(), 2u);
  std::map<std::string, json> by_id;
  for (const json& c : core.received) by_id[c["id"].get<std::string>()] = c;
  EXPECT_EQ(by_id["c1"], (json{{"cmd", "UPDATE_CUSTOMER_CLASSIFICATION"},
                               {"agg", "customer"},
                               {"id", "c1"},
                               {"data", {{"classification", "B"}}},
                               {"key", "cls:c1:3:B"},
                               {"req", by_id["c1"]["req"]}}));
  EXPECT_EQ(by_id["c2"]["key"], "cls:c2:5:B");
  // Acknowledged, but pending until the event arrives.
  EXPECT_EQ(ok(*m, "rating", {{"id", "c1"}})["pending"], "B");
  const size_t at = log.size();
  log.classify("c1", "B");
  log.classify("c2", "B");
  log.order("o3", "c1", 1, "EUR");  // still B: no new command
  log.apply_to(*m, at);
  run_rounds(*m, 20, service);
  EXPECT_EQ(core.received.size(), 2u);
  EXPECT_EQ(ok(*m, "rating", {{"id", "c1"}})["pending"], nullptr);
}

TEST(SagaClassification, ANewerRatingReplacesACommandInFlight) {
  temp_dir dir;
  zmq::context_t ctx;
  fake_core core(ctx, ep(dir));
  auto m = make(dir);
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.order("o1", "c1", 50, "EUR");  // seq 2: B
  log.apply_to(*m);
  std::vector<json> held;
  ASSERT_TRUE(run_until(
      *m, [&] { return core.received.size() == 1; },
      [&] {
        core.serve(2ms, [](const json&) { return std::nullopt; });  // no answer yet
      }));
  size_t at = log.size();
  log.order("o2", "c1", 100, "EUR");  // seq 3: A
  log.apply_to(*m, at);
  auto service = [&] { core.serve(2ms, [](const json&) { return fake_core::ok(); }); };
  ASSERT_TRUE(run_until(
      *m, [&] { return core.received.size() == 2; }, service));
  EXPECT_EQ(core.received[0]["key"], "cls:c1:2:B");
  EXPECT_EQ(core.received[1]["key"], "cls:c1:3:A");
  EXPECT_EQ(core.received[1]["data"]["classification"], "A");
  EXPECT_EQ(ok(*m, "rating", {{"id", "c1"}})["pending"], "A");
  at = log.size();
  log.classify("c1", "A");
  log.apply_to(*m, at);
  EXPECT_EQ(ok(*m, "rating", {{"id", "c1"}})["pending"], nullptr);
}

// A classification the saga itself sent under other thresholds (replayed
// after a settings change, once its newer command was complete) is set
// right again, keyed by that event; one set by hand is left alone.
TEST(SagaClassification, ItsOwnOutdatedClassificationIsSetRightAgain) {
  temp_dir dir;
  zmq::context_t ctx;
  fake_core core(ctx, ep(dir));
  auto m = make(dir);
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.order("o1", "c1", 50, "EUR");       // seq 2: B
  log.classify("c1", "B", "cls:c1:2:B");  // seq 3: complete
  log.classify("c1", "C", "cls:c1:2:C");  // seq 4: sent under other thresholds
  log.apply_to(*m);
  json r = ok(*m, "rating", {{"id", "c1"}});
  EXPECT_EQ(r["assigned"], "C");
  EXPECT_EQ(r["pending"], "B") << r.dump();
  auto service = [&] { core.serve(2ms, [](const json&) { return fake_core::ok(); }); };
  ASSERT_TRUE(run_until(
      *m, [&] { return core.received.size() == 1; }, service));
  EXPECT_EQ(core.received[0]["key"], "cls:c1:4:B");
  EXPECT_EQ(core.received[0]["data"]["classification"], "B");
  size_t at = log.size();
  log.classify("c1", "B", "cls:c1:4:B");  // seq 5
  log.classify("c1", "C");                // seq 6: by hand
  log.apply_to(*m, at);
  r = ok(*m, "rating", {{"id", "c1"}});
  EXPECT_EQ(r["assigned"], "C");
  EXPECT_EQ(r["pending"], nullptr) << r.dump();
  run_rounds(*m, 20, service);
  EXPECT_EQ(core.received.size(), 1u);
}

TEST(SagaClassification, TimeoutsAreRetriedWithTheSameKeyAndRefusalsGivenUp) {
  temp_dir dir;
  zmq::context_t ctx;
  fake_core core(ctx, ep(dir));
  auto m = make(dir, 150);
  event_log log;
  log.customer("slow", "Ann", "a@x");
  log.customer("refused", "Bob", "b@x");
  log.order("o1", "slow", 50, "EUR");     // seq 3
  log.order("o2", "refused", 50, "EUR");  // seq 4
  log.apply_to(*m);
  int slow_seen = 0;
  auto service = [&] {
    core.serve(2ms, [&](const json& c) -> std::optional<json> {
      if (c["id"] == "refused") return fake_core::error("bad_request");
      if (slow_seen++ == 0) return std::nullopt;  // the first one times out
      return fake_core::ok();
    });
  };
  ASSERT_TRUE(run_until(
      *m, [&] { return !m->busy(); }, service));
  std::multiset<std::string> keys;
  for (const json& c : core.received) keys.insert(c["key"].get<std::string>());
  EXPECT_GE(keys.count("cls:slow:3:B"), 2u);
  EXPECT_EQ(keys.count("cls:refused:4:B"), 1u);
  EXPECT_EQ(keys.size(), keys.count("cls:slow:3:B") + 1);
  json refused = ok(*m, "rating", {{"id", "refused"}});
  EXPECT_EQ(refused["pending"], "B");
  EXPECT_NE(refused["error"].get<std::string>().find("bad_request"), std::string::npos);

  // The give-up survives a snapshot and is not retried after load.
  const std::string bytes = saved(*m);
  auto again = make(dir);
  std::string error;
  ASSERT_TRUE(again->load({bytes.data(), bytes.size()}, error)) << error;
  EXPECT_EQ(saved(*again), bytes);
  const size_t before = core.received.size();
  run_rounds(*again, 30, service);
  EXPECT_EQ(core.received.size(), before);
}

TEST(SagaClassification, HostileRepliesAreIgnored) {
  temp_dir dir;
  zmq::context_t ctx;
  fake_core core(ctx, ep(dir));
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.order("o1", "c1", 50, "EUR");
  const std::vector<uint8_t> wrong_req =
      json::to_msgpack({{"ok", false}, {"error", "bad_request"}, {"req", 999999}});
  const std::vector<uint8_t> string_req =
      json::to_msgpack({{"ok", false}, {"error", "bad_request"}, {"req", "1"}});
  core.garbage = {std::string("\xc1\xff\x00", 3), std::string(wrong_req.begin(), wrong_req.end()),
                  std::string(string_req.begin(), string_req.end()),
                  std::string("\x81\xa2ok", 4),  // truncated map
                  std::string()};
  // Five requests get a hostile reply first (then nothing): each times out
  // and is resent; the sixth gets the real answer.
  int seen = 0;
  auto service = [&] {
    core.serve(2ms, [&](const json&) -> std::optional<json> {
      if (++seen < 6) return std::nullopt;
      return fake_core::ok();
    });
  };
  auto quick = std::make_unique<customer_analysis_model>(customer_analysis_model::parse(
      config_in(dir, {{"command_timeout_ms", 50}, {"retry_initial_ms", 1}, {"retry_max_ms", 5}})));
  log.apply_to(*quick);
  ASSERT_TRUE(run_until(
      *quick, [&] { return !quick->busy(); }, service));
  EXPECT_EQ(ok(*quick, "rating", {{"id", "c1"}})["pending"], "C");
  EXPECT_FALSE(ok(*quick, "rating", {{"id", "c1"}}).contains("error"));
  EXPECT_EQ(seen, 6);
  for (const json& c : core.received) EXPECT_EQ(c["key"], "cls:c1:2:C");
}

}  // namespace
}  // namespace rill::readmodels
