// Where events come from: the journal (with the feed as a wake-up), or the
// replay endpoint with the feed as the data path (remote hosts).
#include <gtest/gtest.h>

#include "readmodels/event_source_replay.h"
#include "tests/readmodels/runtime_test_util.h"
#include "transport/event_publisher.h"
#include "transport/replay_server.h"

namespace rill::test {
namespace {

namespace fs = std::filesystem;

struct fake_core {
  fake_core(zmq::context_t& ctx, const fs::path& data, uint64_t publish_after = 0) {
    const auto eps = transport::default_endpoints(data);
    transport::publisher_options po;
    po.endpoint = eps.events;
    po.journal_dir = data / "journal";
    po.start_after = publish_after;
    pub = std::make_unique<transport::event_publisher>(ctx, po, nullptr);
    transport::replay_options ro;
    ro.endpoint = eps.replay;
    ro.journal_dir = data / "journal";
    ro.max_events = 100;  // small pages: paging is exercised
    replay = std::make_unique<transport::replay_server>(
        ctx, ro, [this] { return head.load(); }, nullptr);
  }
  void advance(uint64_t seq) {
    head.store(seq);
    pub->advance(seq);
  }
  std::atomic<uint64_t> head{0};
  std::unique_ptr<transport::event_publisher> pub;
  std::unique_ptr<transport::replay_server> replay;
};

TEST(RuntimeSources, ReplaySourceCatchesUpAndFollowsTheFeed) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(1000, 10);
  fake_core core(ctx, dir.path(), 1000);  // the feed only carries what comes next
  core.advance(1000);
  auto opt = test_options(dir.path());
  opt.source = "replay";
  running_runtime rt(opt, stats_model());
  EXPECT_FALSE(rt.rt().local_source());
  const auto ep = rt.endpoint("journal_stats");
  ASSERT_TRUE(wait_applied(ctx, ep, 1000));
  EXPECT_EQ(status(ctx, ep)["source"], "replay");
  for (int i = 0; i < 10; ++i) {
    const uint64_t h = j.append_many(50, 5, "live");
    core.advance(h);
  }
  ASSERT_TRUE(wait_applied(ctx, ep, 1500));
  EXPECT_GT(status(ctx, ep)["feed"]["received"].get<uint64_t>(), 0u);
  EXPECT_EQ(digest(ctx, ep), expected_digest(dir.path() / "journal"));
}

TEST(RuntimeSources, ReplaySourceFindsEventsTheFeedNeverCarried) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  fake_core core(ctx, dir.path(), UINT64_MAX);  // a feed that publishes nothing
  auto opt = test_options(dir.path());
  opt.source = "replay";
  opt.replay_check_interval = std::chrono::milliseconds(20);
  running_runtime rt(opt, stats_model());
  const auto ep = rt.endpoint("journal_stats");
  core.advance(j.append_many(300, 3));
  ASSERT_TRUE(wait_applied(ctx, ep, 300));
  EXPECT_EQ(digest(ctx, ep), expected_digest(dir.path() / "journal"));
}

TEST(RuntimeSources, ReplayUnavailableIsRetried) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(100, 10);
  auto opt = test_options(dir.path());
  opt.source = "replay";
  opt.replay_timeout = std::chrono::milliseconds(100);
  running_runtime rt(opt, stats_model());
  const auto ep = rt.endpoint("journal_stats");
  auto r = query(ctx, ep, {{"q", "totals"}});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["seq"], 0);
  ASSERT_TRUE(eventually([&] { return status(ctx, ep).contains("source_error"); }));
  fake_core core(ctx, dir.path());  // rill-core comes up
  core.advance(100);
  ASSERT_TRUE(wait_applied(ctx, ep, 100));
}

TEST(RuntimeSources, JournalSourceWithAFeedWakesUpAndIgnoresFeedData) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  // Without the journal's bell (an older journal, or one it cannot open
  // read-write), the feed is what wakes the projector.
  std::filesystem::remove(dir.path() / "journal" / "BELL");
  fake_core core(ctx, dir.path());
  auto opt = test_options(dir.path());
  opt.tail_check_interval = std::chrono::milliseconds(10000);  // only the feed wakes it
  running_runtime rt(opt, stats_model());
  EXPECT_TRUE(rt.rt().local_source());
  const auto ep = rt.endpoint("journal_stats");
  ASSERT_TRUE(query(ctx, ep, {{"q", "ping"}}));
  // The SUB connects in the background (a slow joiner misses what is
  // published before): publish warm-up events until the feed delivers one.
  // (Applied alone would not show that: the status queries below wake the
  // projector too, and it then reads the journal.)
  auto received = [&] { return status(ctx, ep)["feed"]["received"].get<uint64_t>(); };
  bool joined = false;
  for (int i = 0; i < 100 && !joined; ++i) {
    const uint64_t seq = j.append("thing", "warm-up" + std::to_string(i));
    core.advance(seq);
    joined = eventually([&] { return received() > 0; }, 200ms);
  }
  ASSERT_TRUE(joined) << "the feed never delivered an event";
  const uint64_t before = received();
  for (int i = 0; i < 5; ++i) {
    const uint64_t seq = j.append("thing", "x" + std::to_string(i));
    core.advance(seq);
    ASSERT_TRUE(wait_applied(ctx, ep, seq, 5000ms)) << "woken by the feed";
  }
  EXPECT_TRUE(eventually([&] { return received() >= before + 5; }, 5000ms))
      << "the feed carried each event: " << received() << " after " << before;
  EXPECT_EQ(status(ctx, ep)["feed"]["subscribed"], true);
}

TEST(RuntimeSources, JournalSourceWithABellIsWokenByItAndLeavesTheFeed) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");  // its writer creates the bell
  fake_core core(ctx, dir.path());
  auto opt = test_options(dir.path());
  opt.tail_check_interval = std::chrono::milliseconds(10000);  // only a bell or feed wakes it
  running_runtime rt(opt, stats_model());
  const auto ep = rt.endpoint("journal_stats");
  ASSERT_TRUE(eventually([&] { return status(ctx, ep)["feed"]["subscribed"] == false; }))
      << "the feed stays subscribed although the bell is there";
  const uint64_t received = status(ctx, ep)["feed"]["received"].get<uint64_t>();
  for (int i = 0; i < 5; ++i) {
    const uint64_t seq = j.append("thing", "x" + std::to_string(i));
    core.advance(seq);
    ASSERT_TRUE(wait_applied(ctx, ep, seq, 5000ms)) << "woken by the bell";
  }
  EXPECT_EQ(status(ctx, ep)["feed"]["received"].get<uint64_t>(), received)
      << "an unsubscribed feed carries nothing";
  EXPECT_EQ(digest(ctx, ep), expected_digest(dir.path() / "journal"));
}

TEST(EventSourceReplay, PagesAndSeeks) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(250, 5);
  fake_core core(ctx, dir.path());
  core.advance(250);
  readmodels::replay_options ro;
  ro.endpoint = transport::default_endpoints(dir.path()).replay;
  ro.page = 64;
  readmodels::event_source_replay src(ctx, ro);
  EXPECT_EQ(src.last_seq(), 250u);
  readmodels::source_event ev;
  uint64_t n = 0;
  while (src.next(ev) == readmodels::source_status::ok) {
    ASSERT_EQ(ev.seq, n + 1);
    ++n;
  }
  EXPECT_EQ(n, 250u);
  ASSERT_EQ(src.seek(100), readmodels::source_status::ok);
  ASSERT_EQ(src.next(ev), readmodels::source_status::ok);
  EXPECT_EQ(ev.seq, 100u);
  event_head h;
  ASSERT_TRUE(peek_event(ev.body, h));
  EXPECT_EQ(h.seq, 100u);
}

}  // namespace
}  // namespace rill::test
