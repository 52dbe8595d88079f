// notifier_registry without sockets: watches, fan-out, coalescing, folding,
// dropping, expiry with a fake clock.
#include "transport/notifier_registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace rill::transport {
namespace {

using namespace std::chrono_literals;
using clock = notifier_registry::clock;

struct sent_note {
  std::string identity;
  std::string model;
  std::optional<std::string> key;
  uint64_t seq;
  bool operator==(const sent_note&) const = default;
};

// Records what it is given; answers `full` / `gone` for chosen identities.
class fake_sink : public note_sink {
 public:
  send_result send(std::string_view identity, bool, const pending_note& n) override {
    auto it = refuse.find(std::string(identity));
    if (it != refuse.end()) return it->second;
    sent.push_back({std::string(identity), std::string(n.model),
                    n.key ? std::optional<std::string>(std::string(*n.key)) : std::nullopt, n.seq});
    ids.push_back(n.id);
    return send_result::sent;
  }
  std::vector<sent_note> for_client(const std::string& id) const {
    std::vector<sent_note> out;
    for (const auto& s : sent)
      if (s.identity == id) out.push_back(s);
    return out;
  }
  std::vector<sent_note> sent;
  std::vector<uint32_t> ids;
  std::map<std::string, send_result> refuse;
};

void report_to(notifier_registry& r, std::string_view model, std::vector<std::string_view> keys,
               uint64_t seq) {
  r.report(model, keys, seq);
}

class registry_test : public ::testing::Test {
 protected:
  notifier_registry::client_id add(const std::string& id) {
    auto c = reg_.add(id, false, now_);
    EXPECT_NE(c, notifier_registry::npos);
    return c;
  }
  void report(std::string_view model, std::vector<std::string_view> keys, uint64_t seq) {
    reg_.report(model, keys, seq);
  }
  registry_limits lim_;
  clock::time_point now_ = clock::time_point{} + 1h;
  notifier_registry reg_{lim_};
  fake_sink sink_;
};

TEST_F(registry_test, KeyWatcherGetsOnlyItsKey) {
  auto a = add("a");
  ASSERT_EQ(reg_.watch(a, "customers", "c1"), watch_result::added);
  report("customers", {"c2"}, 1);
  report("orders", {"c1"}, 2);
  report("customers", {"c1"}, 3);
  reg_.flush(sink_);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0], (sent_note{"a", "customers", "c1", 3}));
}

TEST_F(registry_test, WholeModelWatcherGetsEveryKey) {
  auto a = add("a");
  reg_.watch(a, "customers", std::nullopt);
  report("customers", {"c1", "c2"}, 5);
  reg_.flush(sink_);
  ASSERT_EQ(sink_.sent.size(), 2u);
  EXPECT_EQ(sink_.sent[0], (sent_note{"a", "customers", "c1", 5}));
  EXPECT_EQ(sink_.sent[1], (sent_note{"a", "customers", "c2", 5}));
}

TEST_F(registry_test, EachKeyCarriesItsOwnSeqWhenTheReportListsThem) {
  auto a = add("a");
  auto b = add("b");
  reg_.watch(a, "customers", std::nullopt);
  reg_.watch(b, "customers", "c2");
  const std::vector<std::string_view> keys{"c1", "c2", "c3"};
  const std::vector<uint64_t> seqs{11, 14, 12};
  reg_.report("customers", keys, 15, seqs);  // one report for seqs 11..15
  reg_.flush(sink_);
  EXPECT_EQ(sink_.for_client("a"), (std::vector<sent_note>{{"a", "customers", "c1", 11},
                                                           {"a", "customers", "c2", 14},
                                                           {"a", "customers", "c3", 12}}));
  EXPECT_EQ(sink_.for_client("b"), (std::vector<sent_note>{{"b", "customers", "c2", 14}}));
}

TEST_F(registry_test, EmptyKeysNotifyEveryWatcherOfTheModelOnceWithNilKey) {
  auto a = add("a");
  auto b = add("b");
  auto c = add("c");
  reg_.watch(a, "m", std::nullopt);
  reg_.watch(b, "m", "k1");
  reg_.watch(b, "m", "k2");
  reg_.watch(c, "other", std::nullopt);
  report("m", {}, 9);
  reg_.flush(sink_);
  ASSERT_EQ(sink_.sent.size(), 2u);
  EXPECT_EQ(sink_.for_client("a"), (std::vector<sent_note>{{"a", "m", std::nullopt, 9}}));
  EXPECT_EQ(sink_.for_client("b"), (std::vector<sent_note>{{"b", "m", std::nullopt, 9}}));
}

TEST_F(registry_test, OverlappingWatchesGiveOneNotePerChange) {
  auto a = add("a");
  reg_.watch(a, "m", std::nullopt);
  reg_.watch(a, "m", "k");
  report("m", {"k"}, 4);
  reg_.flush(sink_);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(reg_.stats().notes_coalesced, 1u);
}

TEST_F(registry_test, NotesForTheSameKeyCoalesceToTheNewestSeq) {
  auto a = add("a");
  auto b = add("b");
  reg_.watch(a, "m", "k");
  reg_.watch(b, "m", std::nullopt);
  report("m", {"k"}, 7);
  report("m", {"k"}, 9);
  report("m", {"k"}, 8);  // late report of an older change
  reg_.flush(sink_);
  EXPECT_EQ(sink_.for_client("a"), (std::vector<sent_note>{{"a", "m", "k", 9}}));
  EXPECT_EQ(sink_.for_client("b"), (std::vector<sent_note>{{"b", "m", "k", 9}}));
  EXPECT_EQ(reg_.stats().notes_coalesced, 4u);
  EXPECT_EQ(reg_.stats().notes_sent, 2u);
  // One note record for everybody: a sink can encode it once.
  ASSERT_EQ(sink_.ids.size(), 2u);
  EXPECT_EQ(sink_.ids[0], sink_.ids[1]);
  // After a flush the next change is a new note.
  report("m", {"k"}, 10);
  reg_.flush(sink_);
  EXPECT_EQ(sink_.sent.size(), 4u);
}

TEST_F(registry_test, LongQueuesStillDeduplicate) {
  auto a = add("a");
  reg_.watch(a, "m", std::nullopt);
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.push_back("k" + std::to_string(i));
  std::vector<std::string_view> views(keys.begin(), keys.end());
  reg_.report("m", views, 1);
  reg_.report("m", views, 2);
  EXPECT_EQ(reg_.queued_notes(), 100u);
  reg_.flush(sink_);
  ASSERT_EQ(sink_.sent.size(), 100u);
  for (const auto& s : sink_.sent) EXPECT_EQ(s.seq, 2u);
}

TEST_F(registry_test, FullQueueFoldsIntoOneWholeModelNote) {
  lim_.client_queue = 3;
  notifier_registry reg(lim_);
  auto a = reg.add("a", false, now_);
  auto b = reg.add("b", false, now_);
  reg.watch(a, "m", std::nullopt);
  reg.watch(b, "m", "k1");
  report_to(reg, "m", {"k1", "k2", "k3", "k4", "k5"}, 11);
  report_to(reg, "m", {"k6"}, 12);
  reg.flush(sink_);
  EXPECT_EQ(sink_.for_client("a"), (std::vector<sent_note>{{"a", "m", std::nullopt, 12}}));
  EXPECT_EQ(sink_.for_client("b"), (std::vector<sent_note>{{"b", "m", "k1", 11}}));
  EXPECT_GT(reg.stats().notes_folded, 0u);
  EXPECT_EQ(reg.clients(), 2u);
}

TEST_F(registry_test, ClientWhoseFoldedQueueStillOverflowsIsDropped) {
  lim_.client_queue = 1;
  notifier_registry reg(lim_);
  auto a = reg.add("a", false, now_);
  auto b = reg.add("b", false, now_);
  reg.watch(a, "m1", std::nullopt);
  reg.watch(a, "m2", std::nullopt);
  reg.watch(b, "m1", std::nullopt);
  report_to(reg, "m1", {"x"}, 1);
  report_to(reg, "m2", {"y"}, 2);  // a needs two notes, one fits
  reg.flush(sink_);
  EXPECT_EQ(reg.stats().clients_dropped, 1u);
  EXPECT_EQ(reg.find("a"), notifier_registry::npos);
  EXPECT_EQ(reg.clients(), 1u);
  EXPECT_EQ(reg.watches(), 1u);
  EXPECT_EQ(sink_.for_client("b"), (std::vector<sent_note>{{"b", "m1", "x", 1}}));
  EXPECT_TRUE(sink_.for_client("a").empty());
}

// A full pipe does not cost a client its watches: what did not fit, and
// every change after, is owed as one whole-model note per model, sent once
// the pipe takes notes again; then per-key notes resume.
TEST_F(registry_test, AClientWhosePipeIsFullIsOwedOneWholeModelNotePerModel) {
  auto a = add("a");
  auto b = add("b");
  reg_.watch(a, "m", std::nullopt);
  reg_.watch(a, "n", "k");
  reg_.watch(b, "m", std::nullopt);
  sink_.refuse["a"] = send_result::full;
  report("m", {"k1", "k2"}, 1);
  reg_.flush(sink_);
  EXPECT_EQ(reg_.stats().clients_stalled, 1u);
  EXPECT_EQ(reg_.stalled_clients(), 1u);
  EXPECT_EQ(reg_.stats().clients_dropped, 0u);
  EXPECT_EQ(reg_.stats().notes_dropped, 0u);
  EXPECT_NE(reg_.find("a"), notifier_registry::npos);
  EXPECT_EQ(reg_.watches(), 3u);
  // Still full: later changes fold into what it is owed (one per model).
  report("m", {"k3"}, 2);
  report("n", {"k"}, 3);
  report("n", {"other"}, 4);  // not watched by a
  reg_.flush(sink_);
  reg_.flush(sink_);  // a retry with nothing new
  EXPECT_TRUE(sink_.for_client("a").empty());
  EXPECT_EQ(reg_.stats().clients_stalled, 1u) << "one stall, not one per flush";
  // The pipe drains: the owed notes go, in no particular order, and then
  // new changes are per key again.
  sink_.refuse.clear();
  reg_.flush(sink_);
  auto got = sink_.for_client("a");
  std::sort(got.begin(), got.end(),
            [](const sent_note& x, const sent_note& y) { return x.model < y.model; });
  EXPECT_EQ(got,
            (std::vector<sent_note>{{"a", "m", std::nullopt, 2}, {"a", "n", std::nullopt, 3}}));
  EXPECT_EQ(reg_.stalled_clients(), 0u);
  report("m", {"k4"}, 5);
  reg_.flush(sink_);
  EXPECT_EQ(sink_.for_client("a").back(), (sent_note{"a", "m", "k4", 5}));
  EXPECT_EQ(sink_.for_client("b").size(), 4u) << "b was served all along";
}

// A pipe that fills part-way through a flush: the notes that went stay
// sent, the rest are owed.
TEST_F(registry_test, APipeThatFillsMidFlushOwesOnlyTheRest) {
  class fill_after : public fake_sink {
   public:
    send_result send(std::string_view identity, bool d, const pending_note& n) override {
      if (room == 0) return send_result::full;
      --room;
      return fake_sink::send(identity, d, n);
    }
    int room = 2;
  } sink;
  auto a = add("a");
  reg_.watch(a, "m", std::nullopt);
  report("m", {"k1", "k2", "k3", "k4"}, 7);
  reg_.flush(sink);
  EXPECT_EQ(sink.sent.size(), 2u);
  EXPECT_EQ(reg_.stats().notes_folded, 2u);
  sink.room = 100;
  reg_.flush(sink);
  ASSERT_EQ(sink.sent.size(), 3u);
  EXPECT_EQ(sink.sent[2], (sent_note{"a", "m", std::nullopt, 7}));
}

// A stalled client that goes away, or expires, is forgotten with what it
// was owed.
TEST_F(registry_test, AStalledClientThatIsGoneOrSilentIsForgotten) {
  auto a = add("a");
  auto b = add("b");
  reg_.watch(a, "m", std::nullopt);
  reg_.watch(b, "m", std::nullopt);
  sink_.refuse["a"] = send_result::full;
  sink_.refuse["b"] = send_result::full;
  report("m", {"k"}, 1);
  reg_.flush(sink_);
  EXPECT_EQ(reg_.stalled_clients(), 2u);
  sink_.refuse["a"] = send_result::gone;
  reg_.flush(sink_);
  EXPECT_EQ(reg_.find("a"), notifier_registry::npos);
  EXPECT_EQ(reg_.stats().clients_gone, 1u);
  EXPECT_EQ(reg_.stalled_clients(), 1u);
  reg_.expire(now_ + lim_.expiry + 1ms);
  EXPECT_EQ(reg_.find("b"), notifier_registry::npos);
  EXPECT_EQ(reg_.stalled_clients(), 0u);
  EXPECT_EQ(reg_.watches(), 0u);
  // The slot is reused by a new client, which starts with nothing owed.
  auto c = add("c");
  reg_.watch(c, "m", "k");
  sink_.refuse.clear();
  report("m", {"k"}, 2);
  reg_.flush(sink_);
  EXPECT_EQ(sink_.for_client("c"), (std::vector<sent_note>{{"c", "m", "k", 2}}));
}

TEST_F(registry_test, UnreachableClientIsForgottenAsGone) {
  auto a = add("a");
  reg_.watch(a, "m", "k");
  sink_.refuse["a"] = send_result::gone;
  report("m", {"k"}, 1);
  reg_.flush(sink_);
  EXPECT_EQ(reg_.stats().clients_gone, 1u);
  EXPECT_EQ(reg_.clients(), 0u);
  EXPECT_EQ(reg_.models(), 0u);
}

TEST_F(registry_test, UnwatchStopsNotesAndCleansTheIndex) {
  auto a = add("a");
  reg_.watch(a, "m", "k");
  reg_.watch(a, "m", std::nullopt);
  EXPECT_EQ(reg_.watch(a, "m", "k"), watch_result::exists);
  EXPECT_EQ(reg_.watches(), 2u);
  EXPECT_TRUE(reg_.unwatch(a, "m", "k"));
  EXPECT_FALSE(reg_.unwatch(a, "m", "k"));
  EXPECT_TRUE(reg_.unwatch(a, "m", std::nullopt));
  EXPECT_EQ(reg_.watches(), 0u);
  EXPECT_EQ(reg_.models(), 0u);
  report("m", {"k"}, 1);
  reg_.flush(sink_);
  EXPECT_TRUE(sink_.sent.empty());
}

TEST_F(registry_test, KeysAreExactBytesNotPrefixes) {
  auto a = add("a");
  reg_.watch(a, "m", "k");
  reg_.watch(a, "m\x01", std::nullopt);
  report("m", {"k2", "", "K"}, 1);
  report("m\x01", {}, 2);
  reg_.flush(sink_);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0].model, "m\x01");
}

TEST_F(registry_test, SilentClientsExpireAndTouchKeepsThemAlive) {
  lim_.expiry = 1000ms;
  notifier_registry reg(lim_);
  auto a = reg.add("a", false, now_);
  auto b = reg.add("b", false, now_ + 100ms);
  reg.watch(a, "m", std::nullopt);
  reg.watch(b, "m", std::nullopt);
  EXPECT_EQ(reg.next_expiry(), now_ + 1000ms);
  EXPECT_EQ(reg.expire(now_ + 1000ms), 0u);  // silent for exactly the expiry: kept
  reg.touch(a, false, now_ + 900ms);
  EXPECT_EQ(reg.next_expiry(), now_ + 1100ms);
  EXPECT_EQ(reg.expire(now_ + 1200ms), 1u);
  EXPECT_EQ(reg.find("b"), notifier_registry::npos);
  EXPECT_NE(reg.find("a"), notifier_registry::npos);
  EXPECT_EQ(reg.stats().clients_expired, 1u);
  EXPECT_EQ(reg.watches(), 1u);
  EXPECT_EQ(reg.expire(now_ + 5000ms), 1u);
  EXPECT_EQ(reg.clients(), 0u);
  EXPECT_FALSE(reg.next_expiry().has_value());
}

TEST_F(registry_test, ForgottenIdentityComesBackAsANewClient) {
  auto a = add("a");
  reg_.watch(a, "m", std::nullopt);
  reg_.forget(a, forget_reason::slow);
  EXPECT_EQ(reg_.find("a"), notifier_registry::npos);
  auto a2 = add("a");
  EXPECT_EQ(reg_.watch_count(a2), 0u);
  auto c = add("c");  // slots are reused without mixing state
  EXPECT_EQ(reg_.watch_count(c), 0u);
  EXPECT_EQ(reg_.clients(), 2u);
}

TEST_F(registry_test, LimitsOnClientsAndWatches) {
  lim_.max_clients = 2;
  lim_.max_watches_per_client = 2;
  notifier_registry reg(lim_);
  auto a = reg.add("a", false, now_);
  reg.add("b", false, now_);
  EXPECT_EQ(reg.add("c", false, now_), notifier_registry::npos);
  EXPECT_EQ(reg.watch(a, "m", "1"), watch_result::added);
  EXPECT_EQ(reg.watch(a, "m", "2"), watch_result::added);
  EXPECT_EQ(reg.watch(a, "m", "3"), watch_result::too_many);
  EXPECT_EQ(reg.watch(a, "m", "2"), watch_result::exists);
}

TEST_F(registry_test, ThousandWatchersOfOneKeyAllGetTheNote) {
  for (int i = 0; i < 1000; ++i) {
    auto c = add("c" + std::to_string(i));
    reg_.watch(c, "m", i % 2 ? std::optional<std::string_view>("hot") : std::nullopt);
  }
  report("m", {"hot"}, 42);
  reg_.flush(sink_);
  EXPECT_EQ(sink_.sent.size(), 1000u);
  EXPECT_EQ(reg_.stats().notes_sent, 1000u);
}

TEST(watch_key, DistinguishesWholeModelFromKeys) {
  EXPECT_NE(watch_key("m", std::nullopt), watch_key("m", "*"));
  EXPECT_NE(watch_key("m", "a"), watch_key(std::string_view("m\0=a", 4), std::nullopt));
}

}  // namespace
}  // namespace rill::transport
