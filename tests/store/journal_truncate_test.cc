// plan_truncate / apply_truncate: the operator's cut of a journal after a seq.
#include "store/journal_truncate.h"

#include <gtest/gtest.h>

#include "store/journal_verify.h"
#include "store/segment_dir.h"
#include "tests/store/journal_test_util.h"

namespace rill::store::testing {
namespace {

class JournalTruncate : public ::testing::Test {
 protected:
  // 2,000 records in 64 KiB segments: three segment files.
  void SetUp() override {
    auto w = open_writer(small_options(dir_.journal()));
    ASSERT_NE(w, nullptr);
    append_range(*w, 1, kEvents, 7);
  }
  std::vector<uint32_t> segments() const {
    std::vector<uint32_t> idx;
    std::string error;
    EXPECT_EQ(list_segments(dir_.journal(), idx, error), io_status::ok) << error;
    return idx;
  }
  // The segment holding seq (0 if none).
  uint32_t segment_of(uint64_t seq) const {
    for (uint32_t i : segments())
      if (record_offset(dir_.journal(), i, seq) != 0) return i;
    return 0;
  }
  std::filesystem::path backup() const { return dir_.path() / "dropped"; }
  // After a cut: the journal is sound and ends at `head`, a writer opens it
  // and continues at head + 1, and every record reads back.
  void expect_sound_and_writable(uint64_t head) {
    auto v = verify_journal(dir_.journal());
    EXPECT_EQ(v.status, io_status::ok) << v.message;
    EXPECT_EQ(v.head, head);
    EXPECT_EQ(v.torn_tail_bytes, 0u) << "a cut leaves nothing for recovery to drop";
    auto w = open_writer(small_options(dir_.journal()));
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->head(), head);
    append_range(*w, head + 1, head + 50, 3);
    w.reset();
    EXPECT_EQ(read_all(dir_.journal()), head + 50);
  }

  static constexpr uint64_t kEvents = 2000;
  temp_dir dir_;
};

TEST_F(JournalTruncate, CutsInsideASegmentAndSavesWhatItDrops) {
  const auto before = segments();
  ASSERT_GE(before.size(), 3u);
  const uint64_t keep = 500;
  const uint32_t seg = segment_of(keep);
  ASSERT_EQ(seg, before.front()) << "seq 500 is in the first segment";
  const auto original = read_file(seg_path(dir_.journal(), seg));

  auto plan = plan_truncate(dir_.journal(), keep);
  ASSERT_EQ(plan.status, io_status::ok) << plan.error;
  EXPECT_TRUE(plan.drops());
  EXPECT_EQ(plan.first_seq, 1u);
  EXPECT_EQ(plan.sound_head, kEvents);
  EXPECT_EQ(plan.dropped_records, kEvents - keep);
  EXPECT_EQ(plan.cut_segment, seg);
  const uint64_t next = record_offset(dir_.journal(), seg, keep + 1);
  EXPECT_EQ(plan.cut_offset, next) << "the cut starts at the first dropped record";
  EXPECT_EQ(plan.removed_segments, std::vector<uint32_t>(before.begin() + 1, before.end()));

  std::string error;
  ASSERT_EQ(apply_truncate(dir_.journal(), plan, backup(), error), io_status::ok) << error;
  EXPECT_EQ(segments(), std::vector<uint32_t>{seg});
  // The backup holds the cut segment as it was and every removed file.
  EXPECT_EQ(read_file(backup() / format::segment_file_name(seg)), original);
  for (size_t i = 1; i < before.size(); ++i)
    EXPECT_TRUE(std::filesystem::exists(backup() / format::segment_file_name(before[i])));
  expect_sound_and_writable(keep);
}

TEST_F(JournalTruncate, CutsAtASegmentBoundary) {
  const auto before = segments();
  // The last record of the first segment.
  uint64_t last = 0;
  journal_reader r(dir_.journal());
  record_view v;
  while (r.next(v) == io_status::ok && segment_of(v.seq) == before.front()) last = v.seq;
  ASSERT_GT(last, 0u);
  auto plan = plan_truncate(dir_.journal(), last);
  ASSERT_EQ(plan.status, io_status::ok) << plan.error;
  EXPECT_EQ(plan.cut_segment, before.front());
  EXPECT_EQ(plan.cut_end - plan.cut_offset, format::kEndMarkerSize)
      << "only the end marker is left in the cut segment";
  std::string error;
  ASSERT_EQ(apply_truncate(dir_.journal(), plan, backup(), error), io_status::ok) << error;
  expect_sound_and_writable(last);
}

TEST_F(JournalTruncate, CutsBeforeCorruptionThatRecoveryRefuses) {
  const uint32_t seg = segment_of(37);
  const uint64_t off = record_offset(dir_.journal(), seg, 37);
  const char junk = 0x5a;
  write_at(seg_path(dir_.journal(), seg), off + format::kRecBody + 1, &junk, 1);
  auto v = verify_journal(dir_.journal());
  ASSERT_EQ(v.status, io_status::corrupt);
  ASSERT_EQ(v.head, 36u);
  recovery_report rr;
  ASSERT_EQ(journal_writer::open(small_options(dir_.journal()), rr), nullptr)
      << "rill-core refuses this journal";

  auto past = plan_truncate(dir_.journal(), 40);
  EXPECT_EQ(past.status, io_status::invalid_argument);
  EXPECT_NE(past.error.find("ends at seq 36"), std::string::npos) << past.error;

  auto plan = plan_truncate(dir_.journal(), 36);
  ASSERT_EQ(plan.status, io_status::ok) << plan.error;
  EXPECT_EQ(plan.sound_head, 36u);
  EXPECT_EQ(plan.dropped_records, 0u) << "the chain breaks at 37: nothing sound follows it";
  // But 38..2000 still carry valid checksums past the damage: the plan says
  // how many (it said only "dropped 0 events", an outside probe).
  EXPECT_EQ(plan.records_past_damage, kEvents - 37);
  EXPECT_EQ(plan.cut_offset, off);
  std::string error;
  ASSERT_EQ(apply_truncate(dir_.journal(), plan, backup(), error), io_status::ok) << error;
  expect_sound_and_writable(36);
}

// A segment renamed past a gap by hand: its header names another index, and
// its records still count (they were counted as 0, an outside re-probe).
TEST_F(JournalTruncate, CountsRecordsOfARenamedSegmentPastTheGap) {
  const uint32_t last = segment_of(kEvents);
  const uint32_t before = segment_of(kEvents) - 1;
  ASSERT_GT(before, 1u);
  uint64_t in_last = 0;
  for (uint64_t seq = 1; seq <= kEvents; ++seq) in_last += segment_of(seq) == last ? 1 : 0;
  std::filesystem::remove(seg_path(dir_.journal(), last + 1));
  std::filesystem::rename(seg_path(dir_.journal(), last), seg_path(dir_.journal(), last + 1));
  const uint64_t keep = kEvents - in_last;
  auto plan = plan_truncate(dir_.journal(), keep);
  ASSERT_EQ(plan.status, io_status::ok) << plan.error;
  EXPECT_EQ(plan.dropped_records, 0u);
  EXPECT_EQ(plan.records_past_damage, in_last);
}

TEST_F(JournalTruncate, AfterZeroRemovesEverySegment) {
  auto plan = plan_truncate(dir_.journal(), 0);
  ASSERT_EQ(plan.status, io_status::ok) << plan.error;
  EXPECT_EQ(plan.dropped_records, kEvents);
  EXPECT_EQ(plan.removed_segments, segments());
  std::string error;
  ASSERT_EQ(apply_truncate(dir_.journal(), plan, backup(), error), io_status::ok) << error;
  EXPECT_TRUE(segments().empty());
  auto w = open_writer(small_options(dir_.journal()));
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->head(), 0u);
  append_range(*w, 1, 10);
  w.reset();
  EXPECT_EQ(read_all(dir_.journal()), 10u);
}

TEST_F(JournalTruncate, NothingToDropAtTheHead) {
  auto plan = plan_truncate(dir_.journal(), kEvents);
  ASSERT_EQ(plan.status, io_status::ok) << plan.error;
  EXPECT_FALSE(plan.drops());
  EXPECT_EQ(plan.dropped_records, 0u);
  std::string error;
  ASSERT_EQ(apply_truncate(dir_.journal(), plan, backup(), error), io_status::ok) << error;
  EXPECT_FALSE(std::filesystem::exists(backup())) << "nothing dropped, nothing saved";
  EXPECT_EQ(read_all(dir_.journal()), kEvents);
  EXPECT_EQ(plan_truncate(dir_.journal(), kEvents + 1).status, io_status::invalid_argument);
}

TEST_F(JournalTruncate, RefusedWhileAWriterHoldsTheJournal) {
  auto w = open_writer(small_options(dir_.journal()));
  ASSERT_NE(w, nullptr);
  auto plan = plan_truncate(dir_.journal(), 100);
  ASSERT_EQ(plan.status, io_status::ok);
  std::string error;
  EXPECT_EQ(apply_truncate(dir_.journal(), plan, backup(), error), io_status::io_error);
  EXPECT_NE(error.find("stop rill-core"), std::string::npos) << error;
  w.reset();
  EXPECT_EQ(read_all(dir_.journal()), kEvents) << "nothing was changed";
}

TEST_F(JournalTruncate, RefusesAStalePlan) {
  auto plan = plan_truncate(dir_.journal(), kEvents - 2);
  {
    auto w = open_writer(small_options(dir_.journal()));
    ASSERT_NE(w, nullptr);
    append_range(*w, kEvents + 1, kEvents + 5);
  }
  std::string error;
  EXPECT_EQ(apply_truncate(dir_.journal(), plan, backup(), error), io_status::invalid_argument)
      << "the journal grew since the plan";
  EXPECT_EQ(read_all(dir_.journal()), kEvents + 5);
}

}  // namespace
}  // namespace rill::store::testing
