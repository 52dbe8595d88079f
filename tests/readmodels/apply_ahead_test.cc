// apply_ahead: events are applied in seq order, each after its prefetch hint
// and no more than `depth` - 1 pushes late; undecodable events are skipped
// and counted; a throwing apply() leaves applied() at the event before; and
// every default model rebuilt 8 ahead with prefetch equals the same model
// applied one event at a time; events of kinds the model does not read are
// not decoded, not applied, and still count as applied in order.
#include <gtest/gtest.h>

#include <algorithm>
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

using testing::encode_all;
using testing::event_log;
using testing::json;

// Pushes every body (seqs from 1), then flushes.
void push_all(apply_ahead& ahead, const std::vector<std::string>& bodies) {
  for (size_t i = 0; i < bodies.size(); ++i)
    ahead.push(i + 1, {bodies[i].data(), bodies[i].size()});
  ahead.flush();
}

// Records the order of prefetch() and apply() calls; throws on one seq.
class recording_model final : public read_model {
 public:
  mutable std::vector<std::pair<char, uint64_t>> calls;  // 'p' or 'a', seq
  uint64_t throw_at = 0;
  std::vector<event_kind> kinds;  // reads(); empty = every event

  std::string_view name() const override { return "recording"; }
  std::span<const event_kind> reads() const override { return kinds; }
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
  EXPECT_THROW({ push_all(ahead, bodies); }, std::runtime_error);
  EXPECT_EQ(ahead.applied(), 4u);
}

// Customers c0, c1, ... with a note on every third (a kind `reads_customers`
// models do not read).
event_log mixed_log(size_t n) {
  event_log log;
  for (size_t i = 0; i < n; ++i) {
    if (i % 3 == 2)
      log.add("CUSTOMER_NOTED", "customer", "c" + std::to_string(i), {{"note", "x"}});
    else
      log.customer("c" + std::to_string(i), "name", "e@x.org");
  }
  return log;
}

void reads_customers(recording_model& m) {
  m.kinds = {{"customer", "CUSTOMER_CREATED"}};
}

TEST(ApplyAhead, KindsTheModelDoesNotReadAreNeitherDecodedNorAppliedButCountAsApplied) {
  const event_log log = mixed_log(20);
  auto bodies = encode_all(log);
  for (size_t depth : {1, 3, 8}) {
    recording_model m;
    reads_customers(m);
    change_set changed;
    apply_ahead ahead(m, changed, depth);
    std::vector<uint64_t> expected;
    for (size_t i = 0; i < bodies.size(); ++i) {
      const uint64_t seq = i + 1;
      ahead.push(seq, {bodies[i].data(), bodies[i].size()});
      if (log[i].type == "CUSTOMER_CREATED") expected.push_back(seq);
      // applied() never passes an event still queued, and lags by fewer
      // than `depth` read events (unread ones take no slot).
      EXPECT_LE(ahead.applied(), seq) << depth;
      EXPECT_LT(std::count_if(expected.begin(), expected.end(),
                              [&](uint64_t q) { return q > ahead.applied(); }),
                static_cast<long>(depth))
          << depth;
      EXPECT_EQ(ahead.queued(), static_cast<size_t>(std::count_if(
                                    expected.begin(), expected.end(),
                                    [&](uint64_t q) { return q > ahead.applied(); })));
    }
    ahead.flush();
    EXPECT_EQ(ahead.applied(), bodies.size()) << depth;
    EXPECT_EQ(ahead.skipped(), 6u) << depth;
    EXPECT_EQ(ahead.undecodable(), 0u) << depth;
    std::vector<uint64_t> applied, prefetched;
    for (auto [kind, seq] : m.calls) (kind == 'a' ? applied : prefetched).push_back(seq);
    EXPECT_EQ(applied, expected) << depth;
    if (depth > 1) {
      EXPECT_EQ(prefetched, expected) << depth;
    }
  }
  // An unread kind first, then only unread kinds: applied() follows at once.
  recording_model m;
  reads_customers(m);
  change_set changed;
  apply_ahead ahead(m, changed, 8);
  ahead.push(3, {bodies[2].data(), bodies[2].size()});
  EXPECT_EQ(ahead.applied(), 3u);
  EXPECT_EQ(ahead.queued(), 0u);
}

TEST(ApplyAhead, UnreadKindsAreDecodedWhenNotInRillsLayoutAndAThrowStopsBeforeThem) {
  event_log log = mixed_log(6);  // c0 c1 note c3 c4 note
  auto bodies = encode_all(log);
  // Body 6 (an unread kind) in another field order: the filter cannot peek
  // it, so it is decoded and given to apply() (which ignores it by contract).
  const std::vector<uint8_t> sorted = json::to_msgpack(json{{"agg", "customer"},
                                                            {"data", json::object()},
                                                            {"id", "c5"},
                                                            {"seq", 6},
                                                            {"ts", 1},
                                                            {"type", "CUSTOMER_NOTED"},
                                                            {"ver", 1}});
  bodies[5].assign(sorted.begin(), sorted.end());
  {
    recording_model m;
    reads_customers(m);
    change_set changed;
    apply_ahead ahead(m, changed, 4);
    push_all(ahead, bodies);
    std::vector<uint64_t> applied;
    for (auto [kind, seq] : m.calls)
      if (kind == 'a') applied.push_back(seq);
    EXPECT_EQ(applied, (std::vector<uint64_t>{1, 2, 4, 5, 6}));
    EXPECT_EQ(ahead.skipped(), 1u);
  }
  {
    // c1 throws: the unread note after it is not counted as applied.
    recording_model m;
    reads_customers(m);
    m.throw_at = 2;
    change_set changed;
    apply_ahead ahead(m, changed, 8);
    EXPECT_THROW({ push_all(ahead, bodies); }, std::runtime_error);
    EXPECT_EQ(ahead.applied(), 1u);
  }
}

// Every default model: 8 ahead with prefetch() == one at a time, byte for
// byte in the snapshot, over a random domain log.
TEST(ApplyAhead, EveryModelEqualsItselfAppliedOneAtATime) {
  testing::expect_every_model_as_applied_one_at_a_time(
      testing::random_domain_log(77, 5000),
      [](read_model& m, const std::vector<std::string>& bodies, const std::string& name) {
        change_set ignored(false);
        apply_ahead ahead(m, ignored, 8);
        push_all(ahead, bodies);
        EXPECT_EQ(ahead.undecodable(), 0u) << name;
        EXPECT_GT(ahead.skipped(), 0u) << name;  // every default model lists what it reads
        EXPECT_EQ(ahead.applied(), bodies.size()) << name;
      });
}

}  // namespace
}  // namespace rill::readmodels
