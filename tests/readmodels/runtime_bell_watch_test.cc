// bell_watch: rings the projector's doorbell when rill-core publishes to a
// local journal, and finds a bell that appears after it started.
#include "readmodels/runtime_bell_watch.h"

#include <poll.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "store/journal_bell.h"
#include "store/journal_writer.h"
#include "tests/readmodels/models_events.h"
#include "tests/support/small_journal.h"

namespace rill::readmodels {
namespace {

using namespace std::chrono_literals;

// True once `cond` holds, polling for up to 30 s.
template <class F>
bool eventually(F cond) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Waits up to 30 s for the doorbell's eventfd to become readable.
bool rung(doorbell& db) {
  pollfd p{db.fd(), POLLIN, 0};
  return ::poll(&p, 1, 30'000) == 1;
}

// A journal with a doorbell, and a watch on it that tests start.
class BellWatchOnJournal : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(w); }
  // Starts `watch` and waits until it has opened the bell; clears the doorbell.
  void attach(bell_watch& watch) {
    watch.start();
    ASSERT_TRUE(eventually([&] { return watch.attached(); }));
    db.clear();
  }
  void publish(uint64_t seq) {
    ASSERT_EQ(w->append(seq, "event"), store::io_status::ok);
    w->publish();
  }

  testing::temp_dir t;
  std::filesystem::path dir = t.path() / "journal";
  std::unique_ptr<store::journal_writer> w = rill::test::open_small_journal(dir);
  doorbell db;
};

TEST_F(BellWatchOnJournal, APublishRingsTheArmedDoorbell) {
  bell_watch watch(dir, db);
  attach(watch);
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    const uint64_t before = watch.rings();
    db.arm();
    publish(seq);
    ASSERT_TRUE(rung(db)) << "publish " << seq << " did not ring the doorbell";
    db.clear();
    ASSERT_TRUE(eventually([&] { return watch.rings() > before; }));
  }
  watch.stop();
}

TEST_F(BellWatchOnJournal, PublishesWithinTheWindowShareOneRing) {
  // A long window, so that the three publishes below, 50 ms apart (each
  // would get a ring of its own without the window), fall inside it even
  // on a slow machine.
  bell_watch watch(dir, db, {}, 2s);
  attach(watch);
  db.arm();
  publish(1);
  ASSERT_TRUE(rung(db)) << "the first publish after a quiet spell rings";
  ASSERT_TRUE(eventually([&] { return watch.rings() == 1; }));
  db.clear();
  db.arm();
  for (uint64_t seq = 2; seq <= 4; ++seq) {
    publish(seq);
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(rung(db)) << "publishes inside the window ring once it is over";
  ASSERT_TRUE(eventually([&] { return watch.rings() >= 2; }));
  EXPECT_EQ(watch.rings(), 2u) << "one ring for the three publishes";
  watch.stop();
}

TEST(BellWatch, FindsABellCreatedAfterItStarted) {
  testing::temp_dir t;
  const auto dir = t.path() / "journal";
  doorbell db;
  bell_watch watch(dir, db);
  watch.start();
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(watch.attached()) << "no journal yet";
  auto w = rill::test::open_small_journal(dir);
  ASSERT_TRUE(w);
  ASSERT_TRUE(eventually([&] { return watch.attached(); }));
  db.clear();
  db.arm();
  ASSERT_EQ(w->append(1, "event"), store::io_status::ok);
  w->publish();
  EXPECT_TRUE(rung(db));
}

TEST(BellWatch, ReportsAttachingAndReopensABellFileThatWasReplaced) {
  testing::temp_dir t;
  const auto dir = t.path() / "journal";
  auto w = rill::test::open_small_journal(dir);
  ASSERT_TRUE(w);
  doorbell db;
  std::mutex mu;
  std::vector<bool> calls;
  bell_watch watch(dir, db, [&](bool on) {
    std::lock_guard lock(mu);
    calls.push_back(on);
  });
  auto seen = [&] {
    std::lock_guard lock(mu);
    return calls;
  };
  watch.start();
  ASSERT_TRUE(eventually([&] { return seen() == std::vector<bool>{true}; }));
  // A new bell file (a new inode): the old page is rung by nobody any more.
  std::filesystem::remove(dir / "BELL");
  auto fresh = store::journal_bell::open_writer(dir);
  ASSERT_TRUE(fresh);
  ASSERT_TRUE(eventually([&] { return seen() == std::vector<bool>{true, false, true}; }));
  ASSERT_TRUE(watch.attached());
  db.clear();
  db.arm();
  fresh->ring();
  EXPECT_TRUE(rung(db)) << "the watch sleeps on the new page";
}

TEST(BellWatch, StopsWhileAsleepAndWithoutAJournal) {
  testing::temp_dir t;
  doorbell db;
  {
    bell_watch idle(t.path() / "none", db);
    idle.start();
    idle.stop();
    idle.stop();  // idempotent
  }
  const auto dir = t.path() / "journal";
  auto w = rill::test::open_small_journal(dir);
  ASSERT_TRUE(w);
  bell_watch watch(dir, db);
  watch.start();
  ASSERT_TRUE(eventually([&] { return watch.attached(); }));
  // The destructor stops it while it sleeps on the bell.
}

}  // namespace
}  // namespace rill::readmodels
