// Recovery in journal_writer::open(): every case named after what it pins.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "store/journal_scan.h"
#include "store/journal_verify.h"
#include "store/journal_writer.h"
#include "store/segment_file.h"
#include "tests/store/journal_test_util.h"

namespace rill::store::testing {
namespace {

// A journal with seqs 1..n in small segments, closed cleanly.
journal_options make_journal(const temp_dir& t, uint64_t n, uint64_t seg = 64 << 10) {
  auto o = small_options(t.journal(), seg);
  auto w = open_writer(o);
  EXPECT_TRUE(w);
  if (w) append_range(*w, 1, n, 5);
  return o;
}

uint32_t last_segment_with(const std::filesystem::path& dir, uint64_t seq) {
  for (uint32_t i = 1; std::filesystem::exists(seg_path(dir, i)); ++i) {
    if (record_offset(dir, i, seq) != 0) return i;
  }
  return 0;
}

void expect_all_zero(const std::filesystem::path& file, uint64_t from, uint64_t to) {
  auto bytes = read_file(file);
  ASSERT_LE(to, bytes.size());
  for (uint64_t i = from; i < to; ++i) ASSERT_EQ(bytes[i], 0) << "byte " << i;
}

// verify and the writer both call the journal corrupt at (segment, off);
// returns the writer's message.
std::string expect_refused(const journal_options& o, uint32_t segment, uint64_t off) {
  auto vr = verify_journal(o.dir);
  EXPECT_EQ(vr.status, io_status::corrupt) << vr.message;
  recovery_report r;
  EXPECT_EQ(journal_writer::open(o, r), nullptr) << r.message;
  EXPECT_TRUE(r.corrupt);
  EXPECT_EQ(r.corrupt_segment, segment);
  EXPECT_EQ(r.corrupt_offset, off);
  return r.message;
}

// After recovery the journal takes new records right after the head.
void expect_appendable(const journal_options& o, uint64_t head, size_t max_len = 100) {
  auto w = open_writer(o);
  ASSERT_TRUE(w);
  ASSERT_EQ(w->head(), head);
  append_range(*w, head + 1, head + 300, 4, max_len);
  w.reset();
  EXPECT_EQ(read_all(o.dir, 1, max_len), head + 300);
  recovery_report r;
  auto again = journal_writer::open(o, r);
  ASSERT_TRUE(again) << r.message;
  EXPECT_EQ(r.dropped_bytes, 0u) << r.message;
}

TEST(JournalRecovery, CleanJournalRecoversEverything) {
  temp_dir t;
  auto o = make_journal(t, 3000);
  recovery_report r;
  auto w = journal_writer::open(o, r);
  ASSERT_TRUE(w) << r.message;
  EXPECT_EQ(r.head, 3000u);
  EXPECT_EQ(r.first_seq, 1u);
  EXPECT_EQ(r.records, 3000u);
  EXPECT_EQ(r.dropped_bytes, 0u);
  EXPECT_FALSE(r.corrupt);
  EXPECT_GT(r.segments, 3u);
  EXPECT_NE(r.message.find("3000 records"), std::string::npos) << r.message;
}

TEST(JournalRecovery, EmptyDirectoryIsAnEmptyJournal) {
  temp_dir t;
  recovery_report r;
  auto w = journal_writer::open(small_options(t.journal()), r);
  ASSERT_TRUE(w) << r.message;
  EXPECT_EQ(r.head, 0u);
  EXPECT_EQ(r.segments, 1u);
}

TEST(JournalRecovery, TornTailIsDropped) {
  temp_dir t;
  auto o = make_journal(t, 100);
  const uint64_t off = record_offset(o.dir, 1, 100);
  ASSERT_GT(off, 0u);
  // The last record's body was only partly written.
  const char junk[4] = {0x11, 0x22, 0x33, 0x44};
  write_at(seg_path(o.dir, 1), off + 16, junk, sizeof junk);
  recovery_report r;
  {
    auto w = journal_writer::open(o, r);
    ASSERT_TRUE(w) << r.message;
  }
  EXPECT_FALSE(r.corrupt);
  EXPECT_EQ(r.head, 99u);
  EXPECT_GT(r.dropped_bytes, 0u);
  EXPECT_NE(r.message.find("torn"), std::string::npos) << r.message;
  expect_all_zero(seg_path(o.dir, 1), off, off + 128);
  expect_appendable(o, 99);
}

TEST(JournalRecovery, TruncatedSegmentFileTailIsDropped) {
  temp_dir t;
  auto o = make_journal(t, 100);
  const uint64_t off = record_offset(o.dir, 1, 100);
  ASSERT_GT(off, 0u);
  std::filesystem::resize_file(seg_path(o.dir, 1), off + 20);  // cut mid-record
  recovery_report r;
  {
    auto w = journal_writer::open(o, r);
    ASSERT_TRUE(w) << r.message;
  }
  EXPECT_EQ(r.head, 99u);
  EXPECT_GT(r.dropped_bytes, 0u);
  EXPECT_NE(r.message.find("truncated"), std::string::npos) << r.message;
  EXPECT_EQ(std::filesystem::file_size(seg_path(o.dir, 1)), 64u << 10);
  expect_appendable(o, 99);
}

TEST(JournalRecovery, GarbageAfterTheTailIsZeroed) {
  temp_dir t;
  auto o = make_journal(t, 100);
  const uint64_t end = record_offset(o.dir, 1, 100) + format::record_size(body_for(100).size());
  std::string garbage(3000, '\x5a');
  write_at(seg_path(o.dir, 1), end + 4096, garbage.data(), garbage.size());
  recovery_report r;
  {
    auto w = journal_writer::open(o, r);
    ASSERT_TRUE(w) << r.message;
  }
  EXPECT_FALSE(r.corrupt);
  EXPECT_EQ(r.head, 100u);
  EXPECT_GE(r.dropped_bytes, garbage.size());
  EXPECT_LT(r.dropped_bytes, garbage.size() + 16);
  EXPECT_NE(r.message.find("garbage"), std::string::npos) << r.message;
  expect_all_zero(seg_path(o.dir, 1), end, end + 8192);
  expect_appendable(o, 100);
}

TEST(JournalRecovery, ZeroedTailEndsTheLog) {
  temp_dir t;
  auto o = make_journal(t, 100);
  const uint64_t off = record_offset(o.dir, 1, 90);
  std::string zeros((64 << 10) - off, '\0');
  write_at(seg_path(o.dir, 1), off, zeros.data(), zeros.size());
  recovery_report r;
  {
    auto w = journal_writer::open(o, r);
    ASSERT_TRUE(w) << r.message;
  }
  EXPECT_EQ(r.head, 89u);
  EXPECT_EQ(r.dropped_bytes, 0u);
  expect_appendable(o, 89);
}

TEST(JournalRecovery, ZeroCommitWordMakesLaterBytesGarbage) {
  temp_dir t;
  auto o = make_journal(t, 100);
  const uint64_t off = record_offset(o.dir, 1, 90);
  const uint64_t zero = 0;
  write_at(seg_path(o.dir, 1), off, &zero, 8);  // records 91..100 stay behind it
  recovery_report r;
  {
    auto w = journal_writer::open(o, r);
    ASSERT_TRUE(w) << r.message;
  }
  EXPECT_FALSE(r.corrupt);
  EXPECT_EQ(r.head, 89u);
  EXPECT_GT(r.dropped_bytes, 0u);
  expect_all_zero(seg_path(o.dir, 1), off, off + 2000);
  expect_appendable(o, 89);
}

// Zeroing a record's whole header (commit word and seq) is damage, not an
// unfinished group: append() writes a group's first seq before any of its
// commit words, so records behind a zero word with a wrong seq field were
// published. Dropping them would lose acknowledged events.
TEST(JournalRecovery, ZeroedRecordHeaderWithRecordsBehindItIsCorruption) {
  temp_dir t;
  auto o = make_journal(t, 100);
  const uint64_t off = record_offset(o.dir, 1, 90);
  const uint64_t off_last = record_offset(o.dir, 1, 100);
  const std::string zeros(16, '\0');
  write_at(seg_path(o.dir, 1), off, zeros.data(), zeros.size());
  expect_refused(o, 1, off);
  EXPECT_EQ(read_u64_at(seg_path(o.dir, 1), off_last + 8), 100u) << "nothing was dropped";
}

// A zero commit word whose seq field is intact looks like an unfinished
// group, but a later segment whose header names its first seq was
// published: publish() stores that only after the group's first word.
TEST(JournalRecovery, EmptyWordBeforeAPublishedSegmentIsCorruption) {
  temp_dir t;
  auto o = make_journal(t, 3000);
  ASSERT_GT(last_segment_with(o.dir, 3000), 2u);
  const uint64_t off = record_offset(o.dir, 1, 10);
  const uint64_t zero = 0;
  write_at(seg_path(o.dir, 1), off, &zero, 8);
  EXPECT_NE(expect_refused(o, 1, off).find("published"), std::string::npos);
}

TEST(JournalRecovery, FlippedByteInTheMiddleIsReportedWithPosition) {
  temp_dir t;
  auto o = make_journal(t, 100);
  const uint64_t off = record_offset(o.dir, 1, 50);
  char b = 0;
  auto bytes = read_file(seg_path(o.dir, 1));
  b = static_cast<char>(bytes[off + 20] ^ 0x01);
  write_at(seg_path(o.dir, 1), off + 20, &b, 1);
  const auto before = read_file(seg_path(o.dir, 1));
  recovery_report r;
  auto w = journal_writer::open(o, r);
  EXPECT_EQ(w, nullptr);
  EXPECT_TRUE(r.corrupt);
  EXPECT_EQ(r.corrupt_segment, 1u);
  EXPECT_EQ(r.corrupt_offset, off);
  EXPECT_EQ(r.corrupt_seq, 50u);
  EXPECT_NE(r.message.find("seg-0000000001.rjl"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("offset " + std::to_string(off)), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("seq 50"), std::string::npos) << r.message;
  EXPECT_EQ(read_file(seg_path(o.dir, 1)), before);  // refused: nothing touched
}

TEST(JournalRecovery, BadSeqInTheMiddleIsCorruption) {
  temp_dir t;
  auto o = make_journal(t, 100);
  const uint64_t off = record_offset(o.dir, 1, 30);
  const uint64_t wrong = 31;
  write_at(seg_path(o.dir, 1), off + 8, &wrong, 8);
  recovery_report r;
  EXPECT_EQ(journal_writer::open(o, r), nullptr);
  EXPECT_TRUE(r.corrupt);
  EXPECT_EQ(r.corrupt_offset, off);
  EXPECT_EQ(r.corrupt_seq, 30u);
}

TEST(JournalRecovery, BadLengthInTheMiddleIsCorruption) {
  temp_dir t;
  auto o = make_journal(t, 100);
  const uint64_t off = record_offset(o.dir, 1, 60);
  const uint32_t huge = 0x7fffffff;
  write_at(seg_path(o.dir, 1), off, &huge, 4);
  recovery_report r;
  EXPECT_EQ(journal_writer::open(o, r), nullptr);
  EXPECT_TRUE(r.corrupt);
  EXPECT_EQ(r.corrupt_offset, off);
  EXPECT_EQ(r.corrupt_seq, 60u);
}

TEST(JournalRecovery, BadRecordInNonLastSegmentIsCorruption) {
  temp_dir t;
  auto o = make_journal(t, 3000);
  // The last record of segment 1, just before its end marker.
  uint64_t seq = 1;
  while (record_offset(o.dir, 1, seq + 1) != 0) ++seq;
  const uint64_t off = record_offset(o.dir, 1, seq);
  char b = 0x7f;
  write_at(seg_path(o.dir, 1), off + 17, &b, 1);
  recovery_report r;
  EXPECT_EQ(journal_writer::open(o, r), nullptr);
  EXPECT_TRUE(r.corrupt);
  EXPECT_EQ(r.corrupt_segment, 1u);
  EXPECT_EQ(r.corrupt_offset, off);
  EXPECT_EQ(r.corrupt_seq, seq);
}

TEST(JournalRecovery, MissingMiddleSegmentIsCorruption) {
  temp_dir t;
  auto o = make_journal(t, 3000);
  ASSERT_TRUE(std::filesystem::exists(seg_path(o.dir, 4)));
  std::filesystem::remove(seg_path(o.dir, 3));
  recovery_report r;
  EXPECT_EQ(journal_writer::open(o, r), nullptr);
  EXPECT_TRUE(r.corrupt);
  EXPECT_EQ(r.corrupt_segment, 3u);
  EXPECT_NE(r.message.find("missing segment file seg-0000000003.rjl"), std::string::npos)
      << r.message;
}

TEST(JournalRecovery, EmptyTrailingSegmentsAreNormal) {
  temp_dir t;
  auto o = make_journal(t, 10);
  // Segments prepared ahead that never got a record.
  {
    recovery_report r;
    auto w = journal_writer::open(o, r);
    ASSERT_TRUE(w);
  }
  std::unique_ptr<segment_file> f;
  std::string err;
  for (uint32_t i = 2; i <= 3; ++i) {
    if (!std::filesystem::exists(seg_path(o.dir, i))) {
      ASSERT_EQ(segment_file::create(o.dir, i, 64 << 10, 1, f, err), io_status::ok) << err;
    }
  }
  recovery_report r;
  auto w = journal_writer::open(o, r);
  ASSERT_TRUE(w) << r.message;
  EXPECT_EQ(r.head, 10u);
  EXPECT_EQ(r.dropped_bytes, 0u);
  EXPECT_GE(r.segments, 3u);
  w.reset();
  expect_appendable(o, 10);
}

TEST(JournalRecovery, BadHeaderOfEmptyTrailingSegmentIsRemoved) {
  temp_dir t;
  auto o = make_journal(t, 10);
  std::unique_ptr<segment_file> f;
  std::string err;
  if (!std::filesystem::exists(seg_path(o.dir, 2))) {
    ASSERT_EQ(segment_file::create(o.dir, 2, 64 << 10, 1, f, err), io_status::ok) << err;
    f.reset();
  }
  write_at(seg_path(o.dir, 2), 0, "XXXX", 4);
  recovery_report r;
  {
    auto w = journal_writer::open(o, r);
    ASSERT_TRUE(w) << r.message;
  }
  EXPECT_EQ(r.head, 10u);
  EXPECT_NE(r.message.find("removed"), std::string::npos) << r.message;
  expect_appendable(o, 10);
}

// Found by fuzz_journal_recovery: a segment sealed by an end marker before
// its first record, whose header still named a first seq (here garbage),
// passed recovery and verify, but readers order segments by that field and
// then refused the journal (seek -> corrupt). Recovery now clears it.
TEST(JournalRecovery, FirstSeqOfASegmentSealedEmptyIsCleared) {
  temp_dir t;
  auto o = small_options(t.journal());
  std::filesystem::create_directories(o.dir);
  std::unique_ptr<segment_file> f;
  std::string err;
  for (uint32_t i = 1; i <= 2; ++i) {
    ASSERT_EQ(segment_file::create(o.dir, i, 64 << 10, 1, f, err), io_status::ok) << err;
    f.reset();
  }
  const uint64_t end = format::kEndMarker, garbage = 0x454e4421ffffffffull;
  write_at(seg_path(o.dir, 1), format::kHeaderSize, &end, sizeof end);
  write_at(seg_path(o.dir, 1), format::kHdrFirstSeq, &garbage, sizeof garbage);
  recovery_report r;
  {
    auto w = journal_writer::open(o, r);
    ASSERT_TRUE(w) << r.message;
  }
  EXPECT_EQ(r.head, 0u);
  expect_appendable(o, 0);
  EXPECT_EQ(verify_journal(o.dir).status, io_status::ok);
}

// The same with the sealed empty segment before an empty last one (the
// writer creates the next file before it commits an end marker).
TEST(JournalRecovery, FirstSeqOfALastSegmentSealedEmptyIsCleared) {
  temp_dir t;
  auto o = small_options(t.journal());
  std::filesystem::create_directories(o.dir);
  std::unique_ptr<segment_file> f;
  std::string err;
  ASSERT_EQ(segment_file::create(o.dir, 1, 64 << 10, 1, f, err), io_status::ok) << err;
  ASSERT_EQ(segment_file::create(o.dir, 2, 64 << 10, 1, f, err), io_status::ok) << err;
  f.reset();
  const uint64_t end = format::kEndMarker, garbage = 0xffff21444e45ffffull;
  write_at(seg_path(o.dir, 1), format::kHeaderSize, &end, sizeof end);
  write_at(seg_path(o.dir, 1), format::kHdrFirstSeq, &garbage, sizeof garbage);
  recovery_report r;
  {
    auto w = journal_writer::open(o, r);
    ASSERT_TRUE(w) << r.message;
  }
  EXPECT_EQ(r.head, 0u);
  expect_appendable(o, 0);
  EXPECT_EQ(verify_journal(o.dir).status, io_status::ok);
}

TEST(JournalRecovery, BadHeaderOfFirstSegmentIsCorruption) {
  temp_dir t;
  auto o = make_journal(t, 10);
  write_at(seg_path(o.dir, 1), 0, "XXXX", 4);
  recovery_report r;
  EXPECT_EQ(journal_writer::open(o, r), nullptr);
  EXPECT_TRUE(r.corrupt);
  EXPECT_NE(r.message.find("bad magic"), std::string::npos) << r.message;
}

TEST(JournalRecovery, StrayTempFilesAreRemoved) {
  temp_dir t;
  auto o = make_journal(t, 10);
  std::filesystem::path tmp = seg_path(o.dir, 9);
  tmp += ".tmp";
  { std::ofstream(tmp) << "partial"; }
  recovery_report r;
  auto w = journal_writer::open(o, r);
  ASSERT_TRUE(w) << r.message;
  EXPECT_FALSE(std::filesystem::exists(tmp));
}

// --- crashes: a writer child killed with SIGKILL ---------------------------

struct child_result {
  pid_t pid = -1;
  int fd = -1;  // read end of the child's progress pipe
};

// Runs body(write_fd) in a forked child that never returns normally.
template <class F>
child_result fork_child(F body) {
  int p[2];
  if (::pipe(p) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    body(p[1]);
    ::_exit(0);
  }
  ::close(p[1]);
  return {pid, p[0]};
}

bool read_u64(int fd, uint64_t& v) {
  size_t got = 0;
  while (got < 8) {
    ssize_t n = ::read(fd, reinterpret_cast<char*>(&v) + got, 8 - got);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

void kill_child(child_result& c) {
  ::kill(c.pid, SIGKILL);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  ::close(c.fd);
}

TEST(JournalRecovery, ReopenAfterSigkillKeepsEveryPublishedRecord) {
  temp_dir t;
  auto o = small_options(t.journal(), 256 << 10);
  child_result c = fork_child([&](int out) {
    recovery_report r;
    auto w = journal_writer::open(o, r);
    if (!w) ::_exit(2);
    uint64_t seq = 1;
    for (uint64_t g = 0;; ++g) {
      const uint64_t n = 1 + g % 37;  // groups of varying size, some spanning segments
      for (uint64_t i = 0; i < n; ++i, ++seq) {
        if (w->append(seq, body_for(seq, 300)) != io_status::ok) ::_exit(3);
      }
      w->publish();
      const uint64_t head = w->published_head();
      if (g % 16 == 0 && ::write(out, &head, 8) != 8) ::_exit(4);
    }
  });
  ASSERT_GT(c.pid, 0);
  uint64_t published = 0, v = 0;
  while (published < 40'000 && read_u64(c.fd, v)) published = v;
  kill_child(c);
  ASSERT_GE(published, 40'000u);
  recovery_report r;
  {
    auto w = journal_writer::open(o, r);
    ASSERT_TRUE(w) << r.message;
  }
  EXPECT_FALSE(r.corrupt);
  EXPECT_GE(r.head, published);
  EXPECT_EQ(read_all(o.dir, 1, 300), r.head);
  auto vr = verify_journal(o.dir);
  EXPECT_EQ(vr.status, io_status::ok) << vr.message;
  EXPECT_EQ(vr.head, r.head);
  EXPECT_EQ(vr.torn_tail_bytes, 0u) << vr.message;
}

// Puts the commit word of a record (whose seq and body a killed writer left)
// in place, as a writer killed in the middle of publish() would have.
void commit_by_hand(const std::filesystem::path& file, uint64_t off, uint64_t seq,
                    const std::string& body) {
  const uint64_t w = format::make_commit(
      static_cast<uint32_t>(body.size()),
      format::record_checksum(seq, body.data(), static_cast<uint32_t>(body.size())));
  write_at(file, off, &w, 8);
}

TEST(JournalRecovery, UnpublishedGroupSpanningSegmentsIsDropped) {
  temp_dir t;
  auto o = small_options(t.journal());
  o.prefault_ahead = 0;
  constexpr size_t kLen = 200;
  // Child: publishes 1..100, appends 101..600 (spans segments), then waits to be killed.
  child_result c = fork_child([&](int out) {
    recovery_report r;
    auto w = journal_writer::open(o, r);
    if (!w) ::_exit(2);
    append_range(*w, 1, 100, 10, kLen);
    for (uint64_t s = 101; s <= 600; ++s) {
      if (w->append(s, body_for(s, kLen)) != io_status::ok) ::_exit(3);
    }
    const uint64_t done = 1;
    if (::write(out, &done, 8) != 8) ::_exit(4);
    ::pause();
  });
  uint64_t v = 0;
  ASSERT_TRUE(read_u64(c.fd, v));
  kill_child(c);
  // publish() was interrupted after committing every word but the group's
  // first: commit 102..600 and the end markers by hand.
  uint32_t seg = 1;
  uint64_t off = record_offset(o.dir, 1, 100) + format::record_size(body_for(100, kLen).size());
  const uint64_t group_start = off;
  for (uint64_t s = 101; s <= 600; ++s) {
    const std::string b = body_for(s, kLen);
    if (off + format::record_size(b.size()) + 8 > (64u << 10)) {
      write_at(seg_path(o.dir, seg), off, &format::kEndMarker, 8);
      ++seg;
      off = format::kHeaderSize;
    }
    ASSERT_EQ(read_u64_at(seg_path(o.dir, seg), off + 8), s);
    if (s != 101) commit_by_hand(seg_path(o.dir, seg), off, s, b);
    off += format::record_size(b.size());
  }
  ASSERT_GE(seg, 2u);
  auto vr = verify_journal(o.dir);
  EXPECT_EQ(vr.status, io_status::ok) << vr.message;
  EXPECT_EQ(vr.head, 100u);
  recovery_report r;
  {
    auto w = journal_writer::open(o, r);
    ASSERT_TRUE(w) << r.message;
  }
  EXPECT_FALSE(r.corrupt);
  EXPECT_EQ(r.head, 100u);
  EXPECT_GT(r.dropped_bytes, 0u);
  expect_all_zero(seg_path(o.dir, 1), group_start, 64 << 10);
  expect_all_zero(seg_path(o.dir, 2), format::kHeaderSize, 64 << 10);
  expect_appendable(o, 100, kLen);
}

TEST(JournalRecovery, RecordsAfterAnEmptyWordInALaterSegmentAreCorruption) {
  temp_dir t;
  auto o = make_journal(t, 3000);
  const uint32_t last = last_segment_with(o.dir, 3000);
  ASSERT_GT(last, 2u);
  // Wipe the whole of segment 2's records: segment 3 still holds later ones.
  std::string zeros((64 << 10) - format::kHeaderSize, '\0');
  write_at(seg_path(o.dir, 2), format::kHeaderSize, zeros.data(), zeros.size());
  recovery_report r;
  EXPECT_EQ(journal_writer::open(o, r), nullptr);
  EXPECT_TRUE(r.corrupt);
  EXPECT_EQ(r.corrupt_segment, 2u);
  EXPECT_EQ(r.corrupt_offset, format::kHeaderSize);
}

// Files moved or deleted by hand (an outside probe): the events they hold
// are never dropped in silence.
// - The last segment holding records renamed over the empty next one: its
//   header names another index. It used to be removed as "empty or
//   unreadable", with 359 events, and verify said OK.
TEST(JournalRecovery, ASegmentRenamedPastTheEndIsCorruptionNotRemoved) {
  temp_dir t;
  auto o = make_journal(t, 3000);
  const uint32_t last = last_segment_with(o.dir, 3000);
  ASSERT_GT(last, 2u);
  std::filesystem::rename(seg_path(o.dir, last), seg_path(o.dir, last + 1));
  const std::string why = expect_refused(o, last, 0);
  EXPECT_NE(why.find("missing segment file"), std::string::npos) << why;
  EXPECT_TRUE(std::filesystem::exists(seg_path(o.dir, last + 1))) << "the file is kept";
}

// - A copy of a segment holding records under a later name, past the end:
//   its header names another index, and it used to be removed as an
//   "empty or unreadable" file.
TEST(JournalRecovery, AFileWithAnotherIndexThatHoldsRecordsIsNotRemoved) {
  temp_dir t;
  auto o = make_journal(t, 3000);
  const uint32_t last = last_segment_with(o.dir, 3000);
  ASSERT_GT(last, 2u);
  std::filesystem::remove(seg_path(o.dir, last + 2));
  std::filesystem::copy_file(seg_path(o.dir, 1), seg_path(o.dir, last + 2));
  const std::string why = expect_refused(o, last + 2, 0);
  EXPECT_NE(why.find("holds records, but"), std::string::npos) << why;
  EXPECT_TRUE(std::filesystem::exists(seg_path(o.dir, last + 2))) << "the file is kept";
}

// - The last segment holding records deleted: the one before it is sealed,
//   so its successor existed. It used to pass for the end of the journal.
TEST(JournalRecovery, ADeletedLastSegmentIsAMissingFile) {
  temp_dir t;
  auto o = make_journal(t, 3000);
  const uint32_t last = last_segment_with(o.dir, 3000);
  ASSERT_GT(last, 2u);
  std::filesystem::remove(seg_path(o.dir, last));
  std::filesystem::remove(seg_path(o.dir, last + 1));
  const std::string why = expect_refused(o, last, 0);
  EXPECT_NE(why.find("missing segment file"), std::string::npos) << why;
}

// - The first commit word of a segment zeroed while its header names its
//   first seq: those records were published (the header is stored after
//   the word). It used to be dropped as an unfinished group's leftovers.
TEST(JournalRecovery, AZeroedFirstWordOfAPublishedSegmentIsCorruption) {
  temp_dir t;
  auto o = make_journal(t, 3000);
  const uint32_t last = last_segment_with(o.dir, 3000);
  ASSERT_GT(last, 2u);
  const uint64_t zero = 0;
  write_at(seg_path(o.dir, last), format::kHeaderSize, &zero, sizeof zero);
  const std::string why = expect_refused(o, last, format::kHeaderSize);
  EXPECT_NE(why.find("were published"), std::string::npos) << why;
}

// verify on a live journal (cli.md: it works with rill-core running): the
// writer rolls to new segments while it reads. A file created after the
// directory was listed is looked for before it is called missing (an
// outside probe saw 1 verify in 16 report "missing segment file" there).
// A directory read that races the writer may miss a file created meanwhile
// (readdir makes no promise for entries added during the read) or stop
// before the newest ones. The scan looks for what the listing lacks instead
// of calling the journal damaged, and lists each file once.
TEST(JournalRecovery, AScanWhoseListingMissedFilesFindsThem) {
  temp_dir t;
  auto o = make_journal(t, 8000);
  std::vector<uint32_t> all;
  for (uint32_t i = 1; std::filesystem::exists(seg_path(o.dir, i)); ++i) all.push_back(i);
  ASSERT_GE(all.size(), 8u);
  const scan_result whole = scan_journal(o.dir);
  ASSERT_EQ(whole.status, io_status::ok) << whole.reason;
  ASSERT_EQ(whole.head, 8000u);

  std::vector<std::vector<uint32_t>> listings;
  auto without = [&](std::initializer_list<uint32_t> gone) {
    std::vector<uint32_t> l;
    for (uint32_t i : all)
      if (std::find(gone.begin(), gone.end(), i) == gone.end()) l.push_back(i);
    return l;
  };
  listings.push_back(without({3}));                    // one file missed
  listings.push_back(without({2, 3, 5}));              // several, apart
  listings.push_back({all.begin(), all.begin() + 2});  // stopped short
  listings.push_back(without({whole.tail_index}));     // the file being written
  for (const auto& l : listings) {
    const scan_result r = scan_journal_listed(o.dir, l);
    std::string named;
    for (uint32_t i : l) named += " " + std::to_string(i);
    EXPECT_EQ(r.status, io_status::ok) << "listing" << named << ": " << r.reason;
    EXPECT_EQ(r.head, 8000u) << "listing" << named;
    EXPECT_EQ(r.records, 8000u) << "listing" << named;
    EXPECT_EQ(r.segments, whole.segments) << "listing" << named;
    EXPECT_EQ(r.tail_index, whole.tail_index) << "listing" << named;
    EXPECT_EQ(r.tail_offset, whole.tail_offset) << "listing" << named;
  }
}

// Scans of a journal that a writer appends to and rolls every millisecond:
// each single scan (no retry, as dump and status use them) and each verify
// must find the journal sound.
TEST(JournalRecovery, ScansOfALiveJournalSeeNoFalseCorruption) {
  temp_dir t;
  auto o = small_options(t.journal(), 64 << 10);
  auto w = open_writer(o);
  ASSERT_TRUE(w);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> written{0};
  std::thread writer([&] {
    for (uint64_t seq = 1; !stop.load(); ++seq) {
      if (w->append(seq, body_for(seq, 400)) != io_status::ok) return;
      w->publish();
      written = seq;
    }
  });
  int scans = 0, verifies = 0, false_alarms = 0;
  std::string first_alarm;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (bool verify = false; std::chrono::steady_clock::now() < until; verify = !verify) {
    const uint64_t before = written.load();
    // What one scan or verify saw: sound, and at least as far as the writer
    // had published before it started.
    const auto judge = [before](const char* what, io_status st, uint64_t head,
                                const std::string& why) -> std::string {
      if (st != io_status::ok) return std::string(what) + ": " + why;
      if (head < before)
        return std::string(what) + ": head " + std::to_string(head) + " < " +
               std::to_string(before);
      return {};
    };
    std::string alarm;
    if (verify) {
      const auto vr = verify_journal(o.dir);
      ++verifies;
      alarm = judge("verify", vr.status, vr.head, vr.message);
    } else {
      const auto sr = scan_journal(o.dir);
      ++scans;
      alarm = judge("scan", sr.status, sr.head, sr.reason);
    }
    if (!alarm.empty()) {
      ++false_alarms;
      if (first_alarm.empty()) first_alarm = alarm;
    }
  }
  stop = true;
  writer.join();
  EXPECT_GT(written.load(), 1000u);
  EXPECT_GT(scans, 5);
  EXPECT_GT(verifies, 5);
  EXPECT_EQ(false_alarms, 0) << "of " << scans << " scans and " << verifies
                             << " verifies: " << first_alarm;
}

}  // namespace
}  // namespace rill::store::testing
