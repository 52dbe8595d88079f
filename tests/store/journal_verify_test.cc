// verify_journal: the offline check, on good and damaged journals; it never
// modifies anything.
#include "store/journal_verify.h"

#include <gtest/gtest.h>

#include "tests/store/journal_test_util.h"

namespace rill::store::testing {
namespace {

journal_options make_journal(const temp_dir& t, uint64_t n) {
  auto o = small_options(t.journal());
  auto w = open_writer(o);
  EXPECT_TRUE(w);
  if (w) append_range(*w, 1, n, 8);
  return o;
}

std::vector<std::vector<char>> snapshot(const std::filesystem::path& dir) {
  std::vector<std::vector<char>> all;
  for (uint32_t i = 1; std::filesystem::exists(seg_path(dir, i)); ++i) {
    all.push_back(read_file(seg_path(dir, i)));
  }
  return all;
}

TEST(JournalVerify, GoodJournal) {
  temp_dir t;
  auto o = make_journal(t, 2500);
  auto v = verify_journal(o.dir);
  EXPECT_EQ(v.status, io_status::ok) << v.message;
  EXPECT_EQ(v.first_seq, 1u);
  EXPECT_EQ(v.head, 2500u);
  EXPECT_EQ(v.records, 2500u);
  EXPECT_GT(v.segments, 2u);
  EXPECT_GT(v.bytes, 2500u * 16);
  EXPECT_EQ(v.torn_tail_bytes, 0u);
  EXPECT_EQ(v.message.rfind("ok:", 0), 0u) << v.message;
}

TEST(JournalVerify, EmptyAndMissingDirectories) {
  temp_dir t;
  auto v = verify_journal(t.path() / "none");
  EXPECT_EQ(v.status, io_status::ok);
  EXPECT_EQ(v.records, 0u);
  v = verify_journal(t.path());
  EXPECT_EQ(v.status, io_status::ok);
  EXPECT_EQ(v.segments, 0u);
}

TEST(JournalVerify, TornTailIsReportedNotRepaired) {
  temp_dir t;
  auto o = make_journal(t, 100);
  const uint64_t off = record_offset(o.dir, 1, 100);
  char b = 0x42;
  write_at(seg_path(o.dir, 1), off + 16, &b, 1);
  const auto before = snapshot(o.dir);
  auto v = verify_journal(o.dir);
  EXPECT_EQ(v.status, io_status::ok) << v.message;
  EXPECT_EQ(v.head, 99u);
  EXPECT_GT(v.torn_tail_bytes, 0u);
  EXPECT_NE(v.message.find("torn"), std::string::npos) << v.message;
  EXPECT_EQ(snapshot(o.dir), before);
}

TEST(JournalVerify, CorruptionIsReportedWithPositionAndReason) {
  temp_dir t;
  auto o = make_journal(t, 100);
  const uint64_t off = record_offset(o.dir, 1, 42);
  char b = 0x42;
  write_at(seg_path(o.dir, 1), off + 18, &b, 1);
  const auto before = snapshot(o.dir);
  auto v = verify_journal(o.dir);
  EXPECT_EQ(v.status, io_status::corrupt);
  EXPECT_EQ(v.corrupt_segment, 1u);
  EXPECT_EQ(v.corrupt_offset, off);
  EXPECT_EQ(v.corrupt_seq, 42u);
  EXPECT_EQ(v.head, 41u);
  EXPECT_NE(v.reason.find("checksum"), std::string::npos) << v.reason;
  EXPECT_NE(v.message.find("CORRUPT"), std::string::npos) << v.message;
  EXPECT_EQ(snapshot(o.dir), before);
}

TEST(JournalVerify, MissingSegmentIsCorruption) {
  temp_dir t;
  auto o = make_journal(t, 3000);
  std::filesystem::remove(seg_path(o.dir, 2));
  auto v = verify_journal(o.dir);
  EXPECT_EQ(v.status, io_status::corrupt);
  EXPECT_EQ(v.corrupt_segment, 2u);
  EXPECT_NE(v.reason.find("missing segment"), std::string::npos) << v.reason;
}

TEST(JournalVerify, RunsWhileTheWriterHoldsTheJournal) {
  temp_dir t;
  auto o = small_options(t.journal());
  auto w = open_writer(o);
  ASSERT_TRUE(w);
  append_range(*w, 1, 500, 8);
  ASSERT_EQ(w->append(501, body_for(501)), io_status::ok);  // unpublished
  auto v = verify_journal(o.dir);
  EXPECT_EQ(v.status, io_status::ok) << v.message;
  EXPECT_EQ(v.head, 500u);
}

}  // namespace
}  // namespace rill::store::testing
