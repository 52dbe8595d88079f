// Snapshots and restarts of the runtime: a restart from a snapshot plus the
// journal's tail equals a rebuild from seq 1; bad snapshots are skipped.
#include <gtest/gtest.h>

#include <fstream>

#include <optional>
#include <set>
#include <thread>

#include "readmodels/snapshot_format.h"
#include "tests/readmodels/runtime_test_util.h"
#include "tests/store/journal_test_util.h"

namespace rill::test {
namespace {

namespace fs = std::filesystem;

std::vector<uint64_t> snapshot_seqs(const fs::path& data) {
  std::vector<uint64_t> seqs;
  const auto dir = data / "models" / "journal_stats";
  if (!fs::exists(dir)) return seqs;
  for (const auto& e : fs::directory_iterator(dir)) {
    uint64_t seq = 0;
    if (readmodels::snapshot_format::parse_file_name(e.path().filename().string(), seq))
      seqs.push_back(seq);
  }
  std::sort(seqs.rbegin(), seqs.rend());
  return seqs;
}

TEST(RuntimeRecovery, RestartFromSnapshotPlusTailEqualsRebuild) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(5000, 50);
  auto opt = test_options(dir.path());
  opt.snapshot_every = 1000;
  {
    running_runtime rt(opt, stats_model());
    ASSERT_TRUE(wait_applied(ctx, rt.endpoint("journal_stats"), 5000));
    EXPECT_EQ(rt.stop(), 0);
  }
  // The final snapshot is at the head; at most two are kept.
  auto seqs = snapshot_seqs(dir.path());
  ASSERT_FALSE(seqs.empty());
  EXPECT_LE(seqs.size(), 2u);
  EXPECT_EQ(seqs.front(), 5000u);

  j.append_many(3000, 70, "other");
  running_runtime rt(opt, stats_model());
  const auto ep = rt.endpoint("journal_stats");
  ASSERT_TRUE(wait_applied(ctx, ep, 8000));
  const json s = status(ctx, ep);
  EXPECT_EQ(s["events_applied"], 3000) << "only the tail is applied after a snapshot";
  EXPECT_EQ(digest(ctx, ep), expected_digest(dir.path() / "journal"));
}

// A snapshot is good only for the settings it was built with: changing a
// model's settings (an orders base currency) and restarting served the
// state computed under the old ones until a rebuild (an outside probe).
// The settings are recorded next to the snapshots; other settings mean a
// rebuild from seq 1, the same settings a load.
TEST(RuntimeRecovery, SnapshotsTakenUnderOtherSettingsAreNotUsed) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(2000, 50);
  auto opt = test_options(dir.path());
  opt.model_settings["journal_stats"] = R"({"base":"EUR"})";
  auto run = [&](uint64_t expect_applied) {
    running_runtime rt(opt, stats_model());
    const auto ep = rt.endpoint("journal_stats");
    ASSERT_TRUE(wait_applied(ctx, ep, 2000));
    EXPECT_EQ(status(ctx, ep)["events_applied"], expect_applied)
        << opt.model_settings["journal_stats"];
    EXPECT_EQ(digest(ctx, ep), expected_digest(dir.path() / "journal"));
    EXPECT_EQ(rt.stop(), 0);
  };
  run(2000);  // from seq 1; the clean stop takes a snapshot
  ASSERT_FALSE(snapshot_seqs(dir.path()).empty());
  run(0);  // the same settings: loaded, nothing to apply
  opt.model_settings["journal_stats"] = R"({"base":"USD"})";
  run(2000);  // other settings: rebuilt from seq 1
  run(0);
  // Snapshots without a record (from a rill that kept none) are not trusted.
  fs::remove(dir.path() / "models" / "journal_stats" / "settings.json");
  run(2000);
}

// Periodic snapshots are taken by a forked child (the projector thread no
// longer pays for save(), which stalled every query of a large model for
// 125-254 ms): the child's snapshot is recorded when it ends, and its
// failure is reported in status like an in-process one.
// A journal_stats runtime over `events` events (over `aggregates`
// aggregates) that has taken its snapshot at `events`; snapshot_every is
// `every`. block()/unblock() put a file where the model's snapshot
// directory is (every write fails) and move the directory back.
struct snapshotted_stats {
  snapshotted_stats(uint64_t events, uint64_t aggregates, uint64_t every) {
    j.append_many(events, aggregates);
    auto opt = test_options(dir.path());
    opt.snapshot_every = every;
    rt.emplace(opt, stats_model());
    ep = rt->endpoint("journal_stats");
    EXPECT_TRUE(wait_applied(ctx, ep, events));
    EXPECT_TRUE(eventually([&] { return status(ctx, ep)["snapshot_seq"] == events; }))
        << status(ctx, ep).dump();
  }
  fs::path model_dir() const { return dir.path() / "models" / "journal_stats"; }
  void block() {
    fs::rename(model_dir(), dir.path() / "moved");
    std::ofstream(model_dir()) << "in the way";
  }
  void unblock() {
    fs::remove(model_dir());
    fs::rename(dir.path() / "moved", model_dir());
  }

  temp_dir dir;
  zmq::context_t ctx;
  test_journal j{dir.path() / "journal"};
  std::optional<running_runtime> rt;
  std::string ep;
};

TEST(RuntimeRecovery, PeriodicSnapshotsAreWrittenByAChildAndItsFailuresReported) {
  snapshotted_stats t(1000, 50, 500);
  auto& dir = t.dir;
  auto& ctx = t.ctx;
  auto& j = t.j;
  const auto& ep = t.ep;
  EXPECT_EQ(snapshot_seqs(dir.path()).front(), 1000u);

  // The model's directory replaced by a file: the child cannot write.
  t.block();
  j.append_many(600, 50, "more");
  ASSERT_TRUE(wait_applied(ctx, ep, 1600));
  json st;
  EXPECT_TRUE(eventually([&] {
    st = status(ctx, ep);
    return !st.value("snapshot_error", std::string()).empty();
  })) << st.dump();
  EXPECT_EQ(st["snapshot_seq"], 1000) << "the failed one is not counted";
  // Once it can write again, the next one goes through.
  t.unblock();
  j.append_many(600, 50, "again");
  // (Which seq it is taken at depends on how the appends met the apply
  // batches; any later than 1000 is the new one.)
  EXPECT_TRUE(eventually([&] {
    st = status(ctx, ep);
    return st["snapshot_seq"].get<uint64_t>() > 1000 && !st.contains("snapshot_error");
  })) << st.dump();
}

// A snapshot that keeps failing is tried again after 1, 2, 4 ... s, not on
// every projector turn: a lasting disk fault must not fork a child (or log
// an error) per batch of events.
TEST(RuntimeRecovery, ASnapshotThatKeepsFailingIsRetriedWithABackOff) {
  snapshotted_stats t(100, 10, 20);
  auto& ctx = t.ctx;
  auto& j = t.j;
  const auto& ep = t.ep;
  t.block();
  // 2.5 s of small batches, each one due for a snapshot by count.
  uint64_t head = 100;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
  while (std::chrono::steady_clock::now() < until) {
    head = j.append_many(25, 10, "more", 25);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(wait_applied(ctx, ep, head));
  const json st = status(ctx, ep);
  ASSERT_TRUE(st.contains("snapshot_error")) << st.dump();
  // Attempts at about 0, 1 and 3 s: two or three failures, and at most four
  // on a slow host. Without the back-off there is one per batch, hundreds.
  EXPECT_GE(st["snapshot_failures"].get<uint64_t>(), 1u) << st.dump();
  EXPECT_LE(st["snapshot_failures"].get<uint64_t>(), 4u) << st.dump();
  EXPECT_EQ(st["snapshot_seq"], 100);

  // Once it can write again, a success clears the error and the count.
  t.unblock();
  json now;
  EXPECT_TRUE(eventually(
      [&] {
        j.append_many(25, 10, "again", 25);
        now = status(ctx, ep);
        return now["snapshot_seq"].get<uint64_t>() > 100 && !now.contains("snapshot_error") &&
               !now.contains("snapshot_failures");
      },
      std::chrono::seconds(70)))
      << now.dump();
}

// journal_stats whose save() takes 200 ms: a large state, in effect.
class slow_save_stats final : public readmodels::read_model {
 public:
  std::string_view name() const override { return "journal_stats"; }
  void apply(const event_view& e, readmodels::change_set& c) override { inner_.apply(e, c); }
  errc query(std::string_view q, const msgpack::object& a, readmodels::packer& pk,
             std::string& m) const override {
    return inner_.query(q, a, pk, m);
  }
  void save(out_buffer& out) const override {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    inner_.save(out);
  }
  bool load(std::span<const char> b, std::string& e) override { return inner_.load(b, e); }
  std::unique_ptr<read_model> clone_empty() const override {
    return std::make_unique<slow_save_stats>();
  }

 private:
  readmodels::journal_stats inner_;
};

// However often snapshot_every says, a snapshot waits until 20 times the
// last one's duration has passed since it started: a model whose snapshots
// take 200 ms takes one every 4 s or so, not one per 200 ms.
TEST(RuntimeRecovery, ASnapshotWaitsTwentyTimesTheLastOnesDuration) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(100, 10);
  auto opt = test_options(dir.path());
  opt.snapshot_every = 50;
  std::vector<std::unique_ptr<readmodels::read_model>> models;
  models.push_back(std::make_unique<slow_save_stats>());
  running_runtime rt(opt, std::move(models));
  const auto ep = rt.endpoint("journal_stats");
  ASSERT_TRUE(wait_applied(ctx, ep, 100));
  // 3 s of events, 50 every 20 ms: due by count about 150 times.
  std::set<uint64_t> seen;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  uint64_t head = 100;
  while (std::chrono::steady_clock::now() < until) {
    head = j.append_many(50, 10, "more", 50);
    const json st = status(ctx, ep);
    if (st.contains("snapshot_seq")) seen.insert(st["snapshot_seq"].get<uint64_t>());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(wait_applied(ctx, ep, head));
  seen.erase(0);
  // The first (at start: no cost known yet) and at most one more 4 s later;
  // 3 allows for a slow host. Without the gap it was one per ~200 ms.
  EXPECT_GE(seen.size(), 1u);
  EXPECT_LE(seen.size(), 3u) << "snapshots at " << ::testing::PrintToString(seen);
}

// A rebuild's swap deletes the snapshots of the state it replaces at once,
// and the new state's snapshot is retried after a failure whatever
// snapshot_every and snapshot_seconds say (nothing else would take one
// here: no more events come).
TEST(RuntimeRecovery, ARebuildDeletesTheOldSnapshotsAndRetriesItsOwn) {
  snapshotted_stats t(1000, 50, 500);
  auto& dir = t.dir;
  auto& ctx = t.ctx;
  const auto& ep = t.ep;
  // The rebuilt state's snapshot (at seq 1000 too) cannot be written: a
  // directory stands where its partial file goes.
  const auto blocker = dir.path() / "models" / "journal_stats" /
                       (readmodels::snapshot_format::file_name(1000) + ".partial");
  fs::create_directories(blocker);
  std::ofstream(blocker / "x") << "in the way";
  auto r = query(ctx, ep, {{"q", "rebuild"}});
  ASSERT_TRUE(r && (*r)["result"]["started"] == true);
  json st;
  ASSERT_TRUE(eventually([&] {
    st = status(ctx, ep);
    return st["rebuilds"] == 1 && st.contains("snapshot_error");
  })) << st.dump();
  EXPECT_TRUE(snapshot_seqs(dir.path()).empty()) << "the pre-rebuild snapshot is gone";
  EXPECT_EQ(st["snapshot_seq"], 0);
  fs::remove_all(blocker);
  EXPECT_TRUE(eventually(
      [&] {
        st = status(ctx, ep);
        return st["snapshot_seq"] == 1000 && !st.contains("snapshot_error");
      },
      std::chrono::seconds(15)))
      << st.dump();
  EXPECT_EQ(snapshot_seqs(dir.path()), std::vector<uint64_t>{1000});
}

TEST(RuntimeRecovery, CorruptSnapshotIsSkipped) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(2000, 20);
  auto opt = test_options(dir.path());
  opt.snapshot_every = 500;
  {
    running_runtime rt(opt, stats_model());
    ASSERT_TRUE(wait_applied(ctx, rt.endpoint("journal_stats"), 2000));
  }
  auto seqs = snapshot_seqs(dir.path());
  ASSERT_EQ(seqs.front(), 2000u);
  const auto newest =
      dir.path() / "models" / "journal_stats" / readmodels::snapshot_format::file_name(2000);
  {
    std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f.put('\x7f');
  }
  // A stray partial file too.
  std::ofstream(newest.string() + ".partial") << "junk";
  j.append_many(100, 5, "more");
  running_runtime rt(opt, stats_model());
  const auto ep = rt.endpoint("journal_stats");
  ASSERT_TRUE(wait_applied(ctx, ep, 2100));
  EXPECT_EQ(digest(ctx, ep), expected_digest(dir.path() / "journal"));
  EXPECT_FALSE(fs::exists(newest)) << "the corrupt snapshot is discarded";
  EXPECT_FALSE(fs::exists(newest.string() + ".partial"));
  const json s = status(ctx, ep);
  EXPECT_GT(s["events_applied"].get<uint64_t>(), 100u) << "it started from an older snapshot or 1";
}

TEST(RuntimeRecovery, SnapshotBeyondTheJournalHeadIsDiscarded) {
  temp_dir dir;
  zmq::context_t ctx;
  auto opt = test_options(dir.path());
  {
    test_journal j(dir.path() / "journal");
    j.append_many(300, 10);
    running_runtime rt(opt, stats_model());
    ASSERT_TRUE(wait_applied(ctx, rt.endpoint("journal_stats"), 300));
  }
  ASSERT_EQ(snapshot_seqs(dir.path()).front(), 300u);
  // The journal lost its tail: only 120 events (the same ones) remain.
  fs::remove_all(dir.path() / "journal");
  test_journal j(dir.path() / "journal");
  j.append_many(120, 10);
  running_runtime rt(opt, stats_model());
  const auto ep = rt.endpoint("journal_stats");
  ASSERT_TRUE(wait_applied(ctx, ep, 120));
  const json s = status(ctx, ep);
  EXPECT_EQ(s["seq"], 120);
  EXPECT_EQ(s["events_applied"], 120);
  EXPECT_EQ(digest(ctx, ep), expected_digest(dir.path() / "journal"));
}

// The journal's last record is torn (a crash, a power cut). rill-core drops
// it when it opens the journal and reuses its seq for a new event. A model
// that starts first must not load a snapshot taken at that seq before the
// repair: it would skip the new event (found by an outside probe).
TEST(RuntimeRecovery, SnapshotAtATornTailWaitsForTheRepair) {
  temp_dir dir;
  zmq::context_t ctx;
  auto opt = test_options(dir.path());
  const fs::path jdir = dir.path() / "journal";
  {
    test_journal j(jdir);
    j.append_many(300, 10);
    running_runtime rt(opt, stats_model());
    ASSERT_TRUE(wait_applied(ctx, rt.endpoint("journal_stats"), 300));
  }
  ASSERT_EQ(snapshot_seqs(dir.path()).front(), 300u);
  // Tear record 300: one byte of its body changes, so its checksum fails.
  const fs::path seg = jdir / store::format::segment_file_name(1);
  const uint64_t off = store::testing::record_offset(jdir, 1, 300);
  ASSERT_NE(off, 0u);
  const char bad = 0x5a;
  store::testing::write_at(seg, off + store::format::kRecordHeaderSize + 1, &bad, 1);
  // rill-core (here: a writer with other timestamps) opens the journal a
  // moment after the model started, then appends 300..304 anew.
  std::thread core([&] {
    std::this_thread::sleep_for(700ms);
    test_journal j(jdir, 1 << 20, 42);
    EXPECT_EQ(j.head(), 299u);
    for (int i = 0; i < 5; ++i) j.append("fresh", "f" + std::to_string(i));
  });
  running_runtime rt(opt, stats_model());
  core.join();
  const auto ep = rt.endpoint("journal_stats");
  ASSERT_TRUE(wait_applied(ctx, ep, 304));
  EXPECT_EQ(digest(ctx, ep), expected_digest(jdir)) << "the model holds the journal's events";
  EXPECT_EQ(status(ctx, ep)["events_applied"], 304) << "rebuilt from seq 1, not from the snapshot";
}

TEST(RuntimeRecovery, SnapshotOfAnotherJournalIsDiscarded) {
  temp_dir dir;
  zmq::context_t ctx;
  auto opt = test_options(dir.path());
  {
    test_journal j(dir.path() / "journal");
    j.append_many(300, 10);
    running_runtime rt(opt, stats_model());
    ASSERT_TRUE(wait_applied(ctx, rt.endpoint("journal_stats"), 300));
  }
  // A different journal (other timestamps) that is longer than the snapshot.
  fs::remove_all(dir.path() / "journal");
  test_journal j(dir.path() / "journal", 1 << 20, 42);
  j.append_many(500, 7, "else");
  running_runtime rt(opt, stats_model());
  const auto ep = rt.endpoint("journal_stats");
  ASSERT_TRUE(wait_applied(ctx, ep, 500));
  EXPECT_EQ(status(ctx, ep)["events_applied"], 500);
  EXPECT_EQ(digest(ctx, ep), expected_digest(dir.path() / "journal"));
}

TEST(RuntimeRecovery, UndecodableEventIsSkippedByEveryone) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(10, 2);
  j.append_garbage();
  j.append_many(10, 2);
  running_runtime rt(test_options(dir.path()), stats_model());
  const auto ep = rt.endpoint("journal_stats");
  ASSERT_TRUE(wait_applied(ctx, ep, 21));
  const json s = status(ctx, ep);
  EXPECT_EQ(s["events_skipped"], 1);
  auto r = query(ctx, ep, {{"q", "totals"}});
  EXPECT_EQ((*r)["result"]["events"], 20);
  EXPECT_EQ(digest(ctx, ep), expected_digest(dir.path() / "journal"));
}

TEST(RuntimeRecovery, TimeBasedSnapshotOnlyWhenChanged) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(100, 10);
  auto opt = test_options(dir.path());
  opt.snapshot_seconds = 0.05;
  opt.final_snapshot = false;
  running_runtime rt(opt, stats_model());
  const auto ep = rt.endpoint("journal_stats");
  ASSERT_TRUE(wait_applied(ctx, ep, 100));
  ASSERT_TRUE(eventually([&] { return status(ctx, ep)["snapshot_seq"] == 100; }));
  j.append_many(5, 5);
  ASSERT_TRUE(eventually([&] { return status(ctx, ep)["snapshot_seq"] == 105; }));
  EXPECT_EQ(snapshot_seqs(dir.path()), (std::vector<uint64_t>{105, 100}));
}

TEST(RuntimeRecovery, EmptyJournalStartsAndFollows) {
  temp_dir dir;
  zmq::context_t ctx;
  running_runtime rt(test_options(dir.path()), stats_model());  // no journal directory yet
  const auto ep = rt.endpoint("journal_stats");
  auto r = query(ctx, ep, {{"q", "totals"}});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["seq"], 0);
  test_journal j(dir.path() / "journal");
  j.append_many(50, 5);
  ASSERT_TRUE(wait_applied(ctx, ep, 50));
}

}  // namespace
}  // namespace rill::test
