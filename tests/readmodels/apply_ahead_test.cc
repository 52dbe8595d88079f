// apply_ahead: events are applied in seq order, each after its prefetch hint
// and no more than `depth` - 1 pushes late; undecodable events are skipped
// and counted; a throwing apply() leaves applied() at the event before; and
// every default model rebuilt 8 ahead with prefetch equals the same model
// applied one event at a time.
#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/buffer.h"
#include "core/event.h"
#include "readmodels/apply_ahead.h"
#include "readmodels/registry.h"
#include "tests/readmodels/models_events.h"

namespace rill::readmodels {
namespace {

using testing::event_log;
using testing::json;

// Encoded bodies of a log, as the journal stores them.
std::vector<std::string> encode_all(const event_log& log) {
  std::vector<std::string> bodies;
  out_buffer buf;
  for (size_t i = 0; i < log.size(); ++i) {
    buf.clear();
    encode_event(buf, log[i]);
    bodies.emplace_back(buf.span().data(), buf.span().size());
  }
  return bodies;
}

// Records the order of prefetch() and apply() calls; throws on one seq.
class recording_model final : public read_model {
 public:
  mutable std::vector<std::pair<char, uint64_t>> calls;  // 'p' or 'a', seq
  uint64_t throw_at = 0;

  std::string_view name() const override { return "recording"; }
  void prefetch(const event_view& e) const override { calls.emplace_back('p', e.seq); }
  void apply(const event_view& e, change_set& changed) override {
    if (e.seq == throw_at) throw std::runtime_error("boom");
    calls.emplace_back('a', e.seq);
    changed.add(e.id);
  }
  errc query(std::string_view, const msgpack::object&, packer&, std::string&) const override {
    return errc::unknown_query;
  }
  void save(out_buffer&) const override {}
  bool load(std::span<const char>, std::string&) override { return true; }
  std::unique_ptr<read_model> clone_empty() const override {
    return std::make_unique<recording_model>();
  }
};

event_log small_log(size_t n) {
  event_log log;
  for (size_t i = 0; i < n; ++i)
    log.customer("c" + std::to_string(i), "name " + std::to_string(i), "e@x.org");
  return log;
}

TEST(ApplyAhead, AppliesInOrderAfterThePrefetchAndAtMostDepthMinusOneLate) {
  const event_log log = small_log(20);
  const auto bodies = encode_all(log);
  recording_model m;
  change_set changed;
  apply_ahead ahead(m, changed, 4);
  for (size_t i = 0; i < bodies.size(); ++i) {
    ahead.push(i + 1, {bodies[i].data(), bodies[i].size()});
    // After pushing seq k, everything up to k - 3 has been applied.
    EXPECT_EQ(ahead.applied(), i + 1 >= 4 ? i + 1 - 3 : 0) << "after push " << i + 1;
  }
  ahead.flush();
  EXPECT_EQ(ahead.applied(), 20u);
  EXPECT_EQ(ahead.queued(), 0u);
  std::vector<uint64_t> applied;
  for (size_t i = 0; i < m.calls.size(); ++i) {
    if (m.calls[i].first != 'a') continue;
    applied.push_back(m.calls[i].second);
    bool prefetched_before = false;
    for (size_t j = 0; j < i; ++j)
      prefetched_before |= m.calls[j] == std::make_pair('p', m.calls[i].second);
    EXPECT_TRUE(prefetched_before) << "seq " << m.calls[i].second;
  }
  std::vector<uint64_t> want(20);
  for (uint64_t k = 0; k < 20; ++k) want[k] = k + 1;
  EXPECT_EQ(applied, want);
  EXPECT_EQ(changed.keys().size(), 20u);  // changes go to the given change_set
}

TEST(ApplyAhead, DepthOneAppliesAtOnceWithoutPrefetch) {
  const event_log log = small_log(3);
  const auto bodies = encode_all(log);
  recording_model m;
  change_set changed(false);
  apply_ahead ahead(m, changed, 1);
  ahead.push(1, {bodies[0].data(), bodies[0].size()});
  EXPECT_EQ(ahead.applied(), 1u);
  ahead.push(2, {bodies[1].data(), bodies[1].size()});
  EXPECT_EQ(ahead.applied(), 2u);
  EXPECT_EQ(m.calls, (std::vector<std::pair<char, uint64_t>>{{'a', 1}, {'a', 2}}));
  EXPECT_TRUE(changed.empty());  // a non-recording change_set keeps nothing
}

TEST(ApplyAhead, UndecodableEventsAreSkippedAndCounted) {
  const event_log log = small_log(3);
  auto bodies = encode_all(log);
  bodies[1] = "\xc1 not an event";
  recording_model m;
  change_set changed;
  apply_ahead ahead(m, changed, 8);
  for (size_t i = 0; i < bodies.size(); ++i) ahead.push(i + 1, {bodies[i].data(), bodies[i].size()});
  ahead.flush();
  EXPECT_EQ(ahead.applied(), 3u);
  EXPECT_EQ(ahead.undecodable(), 1u);
  EXPECT_FALSE(ahead.last_error().empty());
  std::vector<uint64_t> applied;
  for (auto& [kind, seq] : m.calls)
    if (kind == 'a') applied.push_back(seq);
  EXPECT_EQ(applied, (std::vector<uint64_t>{1, 3}));
}

TEST(ApplyAhead, AThrowingApplyLeavesAppliedAtTheEventBefore) {
  const event_log log = small_log(10);
  const auto bodies = encode_all(log);
  recording_model m;
  m.throw_at = 5;
  change_set changed;
  apply_ahead ahead(m, changed, 8);
  EXPECT_THROW(
      {
        for (size_t i = 0; i < bodies.size(); ++i)
          ahead.push(i + 1, {bodies[i].data(), bodies[i].size()});
        ahead.flush();
      },
      std::runtime_error);
  EXPECT_EQ(ahead.applied(), 4u);
}

// Every default model: 8 ahead with prefetch() == one at a time, byte for
// byte in the snapshot, over a random domain log.
TEST(ApplyAhead, EveryModelEqualsItselfAppliedOneAtATime) {
  testing::temp_dir dir;
  std::mt19937_64 rng(77);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  event_log log;
  size_t customers = 0, orders = 0;
  const char* classes[] = {"A", "B", "C"};
  const char* currencies[] = {"EUR", "USD", "GBP"};
  for (int i = 0; i < 5000; ++i) {
    const size_t k = customers == 0 ? 0 : pick(100);
    if (k < 15) {
      const std::string id = "c" + std::to_string(customers++);
      log.customer(id, "name " + id, id + "@x.org", pick(2) ? "DE" : nullptr);
    } else if (k < 22) {
      log.add("CUSTOMER_UPDATED", "customer", "c" + std::to_string(pick(customers)),
              {{"name", "renamed " + std::to_string(i)}});
    } else if (k < 30) {
      log.classify("c" + std::to_string(pick(customers)), classes[pick(3)]);
    } else if (k < 75) {
      log.order("o" + std::to_string(orders++), "c" + std::to_string(pick(customers)),
                static_cast<double>(1 + pick(5000)), currencies[pick(3)]);
    } else if (k < 97 && orders > 0) {
      log.rate("o" + std::to_string(pick(orders)), 0.5 + static_cast<double>(pick(4)));
    } else {
      log.campaign("k" + std::to_string(i), classes[pick(3)], "subject", "body");
    }
  }
  const auto bodies = encode_all(log);
  for (const std::string& name : model_names()) {
    const bool saga =
        name == "customer_analysis" || name == "email_campaigns" || name == "exchange_rates";
    auto cfg = testing::config_in(dir, saga ? json{{"saga", false}} : json::object());
    auto plain = make_model(name, cfg);
    auto ahead_model = make_model(name, cfg);
    ASSERT_NE(plain, nullptr);
    log.apply_to(*plain);
    change_set ignored(false);
    apply_ahead ahead(*ahead_model, ignored, 8);
    for (size_t i = 0; i < bodies.size(); ++i)
      ahead.push(i + 1, {bodies[i].data(), bodies[i].size()});
    ahead.flush();
    EXPECT_EQ(ahead.undecodable(), 0u) << name;
    EXPECT_EQ(testing::saved(*plain), testing::saved(*ahead_model)) << name;
  }
}

}  // namespace
}  // namespace rill::readmodels
