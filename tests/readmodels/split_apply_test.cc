// split_apply: the worker thread applies every event in seq order, each
// after its prefetch hint, never holding more than `slots` events; kinds the
// model does not read are passed over and count as applied; undecodable
// events are skipped and counted; an apply() that throws is rethrown on the
// caller's thread with applied() at the event before; destroying it with
// events queued and a blocked worker returns; and every default model
// rebuilt through it equals itself applied one event at a time.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "readmodels/registry.h"
#include "readmodels/split_apply.h"
#include "tests/readmodels/models_events.h"

namespace rill::readmodels {
namespace {

using testing::encode_all;
using testing::event_log;
using testing::json;

// Records prefetch() and apply() calls and the thread that made them; can
// throw on one seq, or wait at a gate before each apply.
class recording_model final : public read_model {
 public:
  mutable std::mutex mu;
  mutable std::vector<std::pair<char, uint64_t>> calls;  // 'p' or 'a', seq
  mutable std::thread::id thread;
  mutable bool one_thread = true;
  uint64_t throw_at = 0;
  std::atomic<bool>* gate = nullptr;
  std::atomic<uint64_t> entered{0};  // seq of the last apply() call begun
  std::vector<event_kind> kinds;

  std::string_view name() const override { return "recording"; }
  std::span<const event_kind> reads() const override { return kinds; }
  void prefetch(const event_view& e) const override { record('p', e.seq); }
  void apply(const event_view& e, change_set& changed) override {
    entered.store(e.seq);
    while (gate != nullptr && !gate->load())
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    if (e.seq == throw_at) throw std::runtime_error("boom at " + std::to_string(e.seq));
    record('a', e.seq);
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

  std::vector<uint64_t> seqs(char kind) const {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<uint64_t> out;
    for (auto& [k, s] : calls)
      if (k == kind) out.push_back(s);
    return out;
  }

 private:
  void record(char kind, uint64_t seq) const {
    std::lock_guard<std::mutex> lock(mu);
    if (calls.empty()) thread = std::this_thread::get_id();
    one_thread = one_thread && thread == std::this_thread::get_id();
    calls.emplace_back(kind, seq);
  }
};

event_log customers_log(size_t n, bool with_notes) {
  event_log log;
  for (size_t i = 0; i < n; ++i) {
    if (with_notes && i % 3 == 2)
      log.add("CUSTOMER_NOTED", "customer", "c" + std::to_string(i), {{"note", "x"}});
    else
      log.customer("c" + std::to_string(i), "name", "e@x.org");
  }
  return log;
}

void push_all(split_apply& split, const std::vector<std::string>& bodies) {
  for (size_t i = 0; i < bodies.size(); ++i)
    split.push(i + 1, {bodies[i].data(), bodies[i].size()});
  split.flush();
}

TEST(SplitApply, AWorkerAppliesEveryEventInOrderEachAfterItsPrefetch) {
  const auto bodies = encode_all(customers_log(5000, false));
  for (size_t slots : {8, 64}) {
    recording_model m;
    change_set changed;
    {
      split_apply split(m, changed, slots);
      push_all(split, bodies);
      EXPECT_EQ(split.applied(), 5000u);
      EXPECT_EQ(split.queued(), 0u);
      EXPECT_EQ(split.undecodable(), 0u);
    }
    std::vector<uint64_t> want(5000);
    for (uint64_t k = 0; k < 5000; ++k) want[k] = k + 1;
    EXPECT_EQ(m.seqs('a'), want) << slots;
    EXPECT_EQ(m.seqs('p'), want) << slots;
    // Each apply comes after its own prefetch.
    std::vector<size_t> hinted_at(5001, SIZE_MAX);
    for (size_t i = 0; i < m.calls.size(); ++i) {
      auto [kind, seq] = m.calls[i];
      if (kind == 'p') {
        hinted_at[seq] = i;
      } else {
        ASSERT_LT(hinted_at[seq], i) << "seq " << seq;
      }
    }
    EXPECT_TRUE(m.one_thread);
    EXPECT_NE(m.thread, std::this_thread::get_id());  // not the caller's thread
    EXPECT_EQ(changed.keys().size(), 5000u);          // changes go to the given set
  }
}

TEST(SplitApply, ABlockedWorkerHoldsAtMostSlotsEventsAndTheCallerWaits) {
  const auto bodies = encode_all(customers_log(40, false));
  recording_model m;
  std::atomic<bool> gate{false};
  m.gate = &gate;
  change_set changed(false);
  split_apply split(m, changed, 8);
  std::atomic<size_t> pushed{0};
  std::thread caller([&] {
    for (size_t i = 0; i < bodies.size(); ++i) {
      split.push(i + 1, {bodies[i].data(), bodies[i].size()});
      pushed.store(i + 1);
    }
    split.flush();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // The worker is stuck in apply(seq 1): the ring (8 slots) is full.
  EXPECT_EQ(pushed.load(), 8u);
  EXPECT_EQ(split.applied(), 0u);
  gate.store(true);
  caller.join();
  EXPECT_EQ(split.applied(), 40u);
  EXPECT_EQ(m.seqs('a').size(), 40u);
}

TEST(SplitApply, UnreadKindsAreSkippedAndCountAsAppliedInOrder) {
  const event_log log = customers_log(30, true);  // every third is a note
  const auto bodies = encode_all(log);
  recording_model m;
  m.kinds = {{"customer", "CUSTOMER_CREATED"}};
  change_set changed;
  split_apply split(m, changed, 8);
  std::vector<uint64_t> expected;
  for (size_t i = 0; i < bodies.size(); ++i) {
    split.push(i + 1, {bodies[i].data(), bodies[i].size()});
    if (log[i].type == "CUSTOMER_CREATED") expected.push_back(i + 1);
    EXPECT_LE(split.applied(), i + 1);
  }
  split.flush();
  EXPECT_EQ(split.applied(), 30u);  // the last event, an unread one, included
  EXPECT_EQ(split.skipped(), 10u);
  EXPECT_EQ(m.seqs('a'), expected);
  // Only unread kinds: applied() follows at once.
  recording_model m2;
  m2.kinds = m.kinds;
  split_apply only_unread(m2, changed, 8);
  only_unread.push(3, {bodies[2].data(), bodies[2].size()});
  EXPECT_EQ(only_unread.applied(), 3u);
  EXPECT_EQ(only_unread.queued(), 0u);
}

TEST(SplitApply, UndecodableEventsAreSkippedAndCounted) {
  auto bodies = encode_all(customers_log(3, false));
  bodies[1] = "\xc1 not an event";
  recording_model m;
  change_set changed;
  split_apply split(m, changed, 8);
  push_all(split, bodies);
  EXPECT_EQ(split.applied(), 3u);
  EXPECT_EQ(split.undecodable(), 1u);
  EXPECT_EQ(m.seqs('a'), (std::vector<uint64_t>{1, 3}));
}

TEST(SplitApply, AThrowIsRethrownOnTheCallerWithAppliedAtTheEventBefore) {
  const auto bodies = encode_all(customers_log(200, false));
  recording_model m;
  m.throw_at = 50;
  change_set changed;
  split_apply split(m, changed, 8);
  try {
    push_all(split, bodies);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom at 50");
  }
  EXPECT_EQ(split.applied(), 49u);
  EXPECT_EQ(m.seqs('a').back(), 49u);
  // Later calls rethrow too, and nothing more is applied.
  EXPECT_THROW(split.push(201, {bodies[0].data(), bodies[0].size()}), std::runtime_error);
  EXPECT_THROW(split.flush(), std::runtime_error);
  EXPECT_EQ(m.seqs('a').size(), 49u);
}

TEST(SplitApply, DestroyingItWithEventsQueuedAndTheWorkerBlockedReturns) {
  const auto bodies = encode_all(customers_log(8, false));
  recording_model m;
  std::atomic<bool> gate{false};
  m.gate = &gate;
  change_set changed(false);
  std::thread opener;
  {
    split_apply split(m, changed, 8);
    for (size_t i = 0; i < bodies.size(); ++i)
      split.push(i + 1, {bodies[i].data(), bodies[i].size()});
    // All 8 are handed over; the worker waits in apply(seq 1). The gate
    // opens only after the destructor has asked the worker to stop.
    while (m.entered.load() != 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    opener = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      gate.store(true);
    });
  }
  opener.join();
  EXPECT_EQ(m.seqs('a'), (std::vector<uint64_t>{1}));  // the rest stayed queued
  {
    split_apply idle(m, changed, 8);  // a worker asleep with nothing queued
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Every default model through split_apply == one event at a time, byte for
// byte in the snapshot, over a random domain log.
TEST(SplitApply, EveryModelEqualsItselfAppliedOneAtATime) {
  testing::expect_every_model_as_applied_one_at_a_time(
      testing::random_domain_log(91, 5000),
      [](read_model& m, const std::vector<std::string>& bodies, const std::string& name) {
        change_set ignored(false);
        split_apply split(m, ignored, 16);
        push_all(split, bodies);
        EXPECT_EQ(split.undecodable(), 0u) << name;
        EXPECT_GT(split.skipped(), 0u) << name;
        EXPECT_EQ(split.applied(), bodies.size()) << name;
      });
}

}  // namespace
}  // namespace rill::readmodels
