// journal_writer: appending, publishing, roll-over, groups, discard, limits,
// sync modes, the directory lock.
#include "store/journal_writer.h"

#include <sys/stat.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "tests/store/journal_test_util.h"

namespace rill::store::testing {
namespace {

TEST(JournalWriter, OneMillionRecordsWrittenAndReadBack) {
  temp_dir t;
  journal_options o;
  o.dir = t.journal();
  o.segment_size = 16 << 20;
  {
    auto w = open_writer(o);
    ASSERT_TRUE(w);
    append_range(*w, 1, 1'000'000, 64);
    EXPECT_EQ(w->head(), 1'000'000u);
    EXPECT_EQ(w->published_head(), 1'000'000u);
  }
  EXPECT_EQ(read_all(t.journal()), 1'000'000u);
  recovery_report r;
  auto w = journal_writer::open(o, r);
  ASSERT_TRUE(w) << r.message;
  EXPECT_EQ(r.head, 1'000'000u);
  EXPECT_EQ(r.records, 1'000'000u);
  EXPECT_EQ(r.dropped_bytes, 0u);
  EXPECT_FALSE(r.corrupt);
}

TEST(JournalWriter, RollsOverAcrossManySmallSegments) {
  temp_dir t;
  auto o = small_options(t.journal());
  {
    auto w = open_writer(o);
    ASSERT_TRUE(w);
    append_range(*w, 1, 20'000, 7, 300);
  }
  std::vector<uint32_t> idx;
  for (auto& e : std::filesystem::directory_iterator(t.journal())) {
    uint32_t i = format::parse_segment_file_name(e.path().filename().string());
    if (i) idx.push_back(i);
  }
  EXPECT_GT(idx.size(), 50u);
  EXPECT_EQ(read_all(t.journal(), 1, 300), 20'000u);
  // Segment headers carry the first seq of each segment once published.
  journal_reader r(t.journal());
  ASSERT_EQ(r.seek(12'345), io_status::ok);
  record_view v;
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(v.seq, 12'345u);
  // Reopen continues where it left off.
  auto w = open_writer(o);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->head(), 20'000u);
  append_range(*w, 20'001, 21'000, 3, 300);
  w.reset();
  EXPECT_EQ(read_all(t.journal(), 1, 300), 21'000u);
}

TEST(JournalWriter, FirstSeqMayStartAboveOne) {
  temp_dir t;
  auto w = open_writer(small_options(t.journal()));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->append(0, body_for(0)), io_status::invalid_argument);
  ASSERT_EQ(w->append(500, body_for(500)), io_status::ok);
  EXPECT_EQ(w->append(502, body_for(502)), io_status::invalid_argument);
  EXPECT_EQ(w->append(500, body_for(500)), io_status::invalid_argument);
  ASSERT_EQ(w->append(501, body_for(501)), io_status::ok);
  w->publish();
  journal_reader r(t.journal());
  ASSERT_EQ(r.seek(1), io_status::ok);
  record_view v;
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(v.seq, 500u);
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(v.seq, 501u);
  EXPECT_EQ(r.next(v), io_status::end_of_log);
}

TEST(JournalWriter, AppendedRecordsAreInvisibleUntilPublished) {
  temp_dir t;
  auto w = open_writer(small_options(t.journal()));
  ASSERT_TRUE(w);
  journal_reader r(t.journal());
  record_view v;
  ASSERT_EQ(w->append(1, body_for(1)), io_status::ok);
  ASSERT_EQ(w->append(2, body_for(2)), io_status::ok);
  EXPECT_EQ(w->head(), 2u);
  EXPECT_EQ(w->published_head(), 0u);
  EXPECT_EQ(r.next(v), io_status::end_of_log);
  EXPECT_EQ(r.last_seq(), 0u);
  w->publish();
  EXPECT_EQ(w->published_head(), 2u);
  EXPECT_EQ(r.last_seq(), 2u);
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(v.seq, 1u);
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(v.seq, 2u);
  EXPECT_EQ(r.next(v), io_status::end_of_log);
}

TEST(JournalWriter, GroupPublishIsAtomicForConcurrentReader) {
  temp_dir t;
  auto o = small_options(t.journal());  // groups span segments often
  auto w = open_writer(o);
  ASSERT_TRUE(w);
  constexpr uint64_t kGroup = 50, kGroups = 400;
  std::atomic<bool> bad{false};
  std::atomic<uint64_t> reader_seen{0};
  std::thread reader([&] {
    journal_reader r(t.journal());
    record_view v;
    uint64_t seen = 0;
    while (seen < kGroup * kGroups) {
      io_status s = r.next(v);
      if (s == io_status::end_of_log) {
        // A reader that has drained the log has seen whole groups only.
        if (seen % kGroup != 0) bad = true;
        std::this_thread::yield();
        continue;
      }
      if (s != io_status::ok || v.seq != seen + 1) {
        bad = true;
        break;
      }
      ++seen;
    }
    reader_seen = seen;
  });
  uint64_t seq = 1;
  for (uint64_t g = 0; g < kGroups; ++g) {
    for (uint64_t i = 0; i < kGroup; ++i, ++seq) {
      ASSERT_EQ(w->append(seq, body_for(seq, 200)), io_status::ok);
    }
    w->publish();
  }
  reader.join();
  EXPECT_FALSE(bad.load());
  EXPECT_EQ(reader_seen.load(), kGroup * kGroups);
}

TEST(JournalWriter, DiscardUnpublishedZeroesAndRewinds) {
  temp_dir t;
  auto o = small_options(t.journal());
  auto w = open_writer(o);
  ASSERT_TRUE(w);
  append_range(*w, 1, 10);
  // A failed batch that spans several segments.
  for (uint64_t s = 11; s <= 2000; ++s) ASSERT_EQ(w->append(s, body_for(s, 200)), io_status::ok);
  EXPECT_EQ(w->head(), 2000u);
  w->discard_unpublished();
  EXPECT_EQ(w->head(), 10u);
  EXPECT_EQ(w->published_head(), 10u);
  // Different bodies for the same seqs this time.
  for (uint64_t s = 11; s <= 20; ++s) ASSERT_EQ(w->append(s, body_for(s)), io_status::ok);
  w->publish();
  w.reset();
  EXPECT_EQ(read_all(t.journal()), 20u);
  recovery_report r;
  auto w2 = journal_writer::open(o, r);
  ASSERT_TRUE(w2) << r.message;
  EXPECT_EQ(r.head, 20u);
  EXPECT_EQ(r.dropped_bytes, 0u) << r.message;  // discard left no garbage
}

TEST(JournalWriter, DiscardAtStartOfEmptyJournalAllowsAnyFirstSeq) {
  temp_dir t;
  auto w = open_writer(small_options(t.journal()));
  ASSERT_TRUE(w);
  ASSERT_EQ(w->append(7, body_for(7)), io_status::ok);
  w->discard_unpublished();
  EXPECT_EQ(w->head(), 0u);
  ASSERT_EQ(w->append(1, body_for(1)), io_status::ok);
  w->publish();
  w.reset();
  EXPECT_EQ(read_all(t.journal()), 1u);
}

TEST(JournalWriter, TooLargeBodyIsRefused) {
  temp_dir t;
  auto o = small_options(t.journal());
  auto w = open_writer(o);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->max_body_size(), (64u << 10) - 64 - 16 - 8);
  std::string big(w->max_body_size() + 1, 'x');
  EXPECT_EQ(w->append(1, big), io_status::too_large);
  EXPECT_EQ(w->head(), 0u);
  std::string max(w->max_body_size(), 'y');
  ASSERT_EQ(w->append(1, body_for(1)), io_status::ok);
  ASSERT_EQ(w->append(2, max), io_status::ok);  // rolls into a fresh segment
  ASSERT_EQ(w->append(3, body_for(3)), io_status::ok);
  w->publish();
  journal_reader r(t.journal());
  record_view v;
  ASSERT_EQ(r.next(v), io_status::ok);
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(v.seq, 2u);
  EXPECT_EQ(v.body.size(), max.size());
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(v.seq, 3u);
}

TEST(JournalWriter, EmptyBodiesAreRecords) {
  temp_dir t;
  auto w = open_writer(small_options(t.journal()));
  ASSERT_TRUE(w);
  for (uint64_t s = 1; s <= 100; ++s) ASSERT_EQ(w->append(s, {}), io_status::ok);
  w->publish();
  journal_reader r(t.journal());
  record_view v;
  for (uint64_t s = 1; s <= 100; ++s) {
    ASSERT_EQ(r.next(v), io_status::ok);
    EXPECT_EQ(v.seq, s);
    EXPECT_TRUE(v.body.empty());
  }
}

TEST(JournalWriter, DoubleOpenIsRefusedByTheLock) {
  temp_dir t;
  auto o = small_options(t.journal());
  auto w = open_writer(o);
  ASSERT_TRUE(w);
  recovery_report r;
  EXPECT_EQ(journal_writer::open(o, r), nullptr);
  EXPECT_NE(r.message.find("locked"), std::string::npos) << r.message;
  w.reset();
  EXPECT_NE(journal_writer::open(o, r), nullptr) << r.message;
}

TEST(JournalWriter, CreatesDirectoryPrivate) {
  temp_dir t;
  auto o = small_options(t.path() / "a" / "b" / "journal");
  auto w = open_writer(o);
  ASSERT_TRUE(w);
  struct stat st {};
  ASSERT_EQ(::stat(o.dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(std::filesystem::exists(seg_path(o.dir, 1)));
}

TEST(JournalWriter, BadOptionsAreRefused) {
  temp_dir t;
  recovery_report r;
  journal_options o;
  EXPECT_EQ(journal_writer::open(o, r), nullptr);  // no dir
  o = small_options(t.journal());
  o.sync = sync_mode{sync_mode::kind::interval, 0};
  EXPECT_EQ(journal_writer::open(o, r), nullptr);
  o.sync = sync_mode{sync_mode::kind::interval, 60001};
  EXPECT_EQ(journal_writer::open(o, r), nullptr);
  o = small_options(t.journal(), 1000);  // rounded up to 64 KiB
  auto w = journal_writer::open(o, r);
  ASSERT_TRUE(w) << r.message;
  EXPECT_EQ(w->options().segment_size, 64u << 10);
}

TEST(JournalWriter, SyncNoneFlushesOnlyWhenAsked) {
  temp_dir t;
  auto o = small_options(t.journal());
  auto w = open_writer(o);
  ASSERT_TRUE(w);
  append_range(*w, 1, 100);
  EXPECT_EQ(w->durable_head(), 0u);
  ASSERT_EQ(w->flush(), io_status::ok);
  EXPECT_EQ(w->durable_head(), 100u);
}

TEST(JournalWriter, SyncBatchFlushMakesPublishedDurable) {
  for (flush_call how : {flush_call::fdatasync, flush_call::msync}) {
    temp_dir t;
    auto o = small_options(t.journal());
    o.sync = *sync_mode::parse("batch");
    o.flush_with = how;
    auto w = open_writer(o);
    ASSERT_TRUE(w);
    for (uint64_t s = 1; s <= 3000; ++s) {
      ASSERT_EQ(w->append(s, body_for(s)), io_status::ok);
      if (s % 64 == 0) {
        w->publish();
        ASSERT_EQ(w->flush(), io_status::ok);
        EXPECT_EQ(w->durable_head(), s);
      }
    }
    // Unpublished records are not made durable.
    ASSERT_EQ(w->flush(), io_status::ok);
    EXPECT_EQ(w->durable_head(), 2944u);
    w->publish();
    ASSERT_EQ(w->flush(), io_status::ok);
    EXPECT_EQ(w->durable_head(), 3000u);
  }
}

TEST(JournalWriter, SyncIntervalFlushesInBackground) {
  temp_dir t;
  auto o = small_options(t.journal());
  o.sync = *sync_mode::parse("interval:2");
  auto w = open_writer(o);
  ASSERT_TRUE(w);
  append_range(*w, 1, 500);
  // Bounded wait (not a timing assertion): the flusher runs every 2 ms.
  for (int i = 0; i < 5000 && w->durable_head() < 500; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(w->durable_head(), 500u);
}

TEST(JournalWriter, CloseFlushesAndReopenStartsDurable) {
  temp_dir t;
  auto o = small_options(t.journal());
  {
    auto w = open_writer(o);
    ASSERT_TRUE(w);
    append_range(*w, 1, 100);
    ASSERT_EQ(w->append(101, body_for(101)), io_status::ok);  // never published
  }
  recovery_report r;
  auto w = journal_writer::open(o, r);
  ASSERT_TRUE(w) << r.message;
  EXPECT_EQ(r.head, 100u);
  EXPECT_EQ(r.dropped_bytes, 0u) << r.message;
  EXPECT_EQ(w->durable_head(), 100u);
  EXPECT_EQ(w->published_head(), 100u);
}

TEST(JournalWriter, WaitPublishedWakesInProcessTailer) {
  temp_dir t;
  auto w = open_writer(small_options(t.journal()));
  ASSERT_TRUE(w);
  EXPECT_FALSE(w->wait_published(0, std::chrono::microseconds(1000)));
  std::atomic<bool> woke{false};
  std::thread tailer([&] { woke = w->wait_published(4, std::chrono::seconds(30)); });
  for (uint64_t s = 1; s <= 5; ++s) {
    ASSERT_EQ(w->append(s, body_for(s)), io_status::ok);
    w->publish();
  }
  tailer.join();
  EXPECT_TRUE(woke.load());
  EXPECT_TRUE(w->wait_published(4, std::chrono::microseconds(0)));
}

TEST(JournalWriter, NoPrefaultThreadStillRollsOver) {
  temp_dir t;
  auto o = small_options(t.journal());
  o.prefault_ahead = 0;
  {
    auto w = open_writer(o);
    ASSERT_TRUE(w);
    append_range(*w, 1, 5000, 10, 200);
  }
  EXPECT_EQ(read_all(t.journal(), 1, 200), 5000u);
}

TEST(JournalWriter, ClockStampsSegmentHeaders) {
  temp_dir t;
  auto o = small_options(t.journal());
  o.clock = [] { return uint64_t{1234567890123}; };
  auto w = open_writer(o);
  ASSERT_TRUE(w);
  EXPECT_EQ(read_u64_at(seg_path(o.dir, 1), format::kHdrCreated), 1234567890123u);
}

}  // namespace
}  // namespace rill::store::testing
