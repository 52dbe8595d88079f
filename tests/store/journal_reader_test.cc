// journal_reader: seeking, tailing from another process, last_seq, waiting,
// and refusing damaged records.
#include "store/journal_reader.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "store/journal_format.h"
#include "store/journal_writer.h"
#include "store/segment_file.h"
#include "tests/store/journal_test_util.h"

namespace rill::store::testing {
namespace {

// Records 1..n in segments of 64 KiB (many of them).
void write_many_segments(const temp_dir& t, uint64_t n) {
  auto w = open_writer(small_options(t.journal()));
  ASSERT_TRUE(w);
  append_range(*w, 1, n, 16);
}

TEST(JournalReader, MissingDirectoryReadsAsEmpty) {
  temp_dir t;
  journal_reader r(t.path() / "nothing-here");
  record_view v;
  EXPECT_EQ(r.next(v), io_status::end_of_log);
  EXPECT_EQ(r.seek(10), io_status::ok);
  EXPECT_EQ(r.last_seq(), 0u);
  EXPECT_EQ(r.position_seq(), 10u);
}

TEST(JournalReader, SeekLandsOnEverySeqInManySegments) {
  temp_dir t;
  constexpr uint64_t kN = 30'000;
  ASSERT_NO_FATAL_FAILURE(write_many_segments(t, kN));
  journal_reader r(t.journal());
  record_view v;
  std::mt19937_64 rng(42);
  for (int i = 0; i < 3000; ++i) {
    const uint64_t seq = 1 + rng() % kN;
    ASSERT_EQ(r.seek(seq), io_status::ok) << seq;
    EXPECT_EQ(r.position_seq(), seq);
    ASSERT_EQ(r.next(v), io_status::ok) << seq;
    ASSERT_EQ(v.seq, seq);
    ASSERT_EQ(std::string(v.body.data(), v.body.size()), body_for(seq));
    if (i % 100 == 0 && seq < kN) {
      ASSERT_EQ(r.next(v), io_status::ok);
      ASSERT_EQ(v.seq, seq + 1);
    }
  }
  // Every seq in order of a fresh reader, backwards.
  journal_reader back(t.journal());
  for (uint64_t seq = kN; seq >= 1; seq -= 97) {
    ASSERT_EQ(back.seek(seq), io_status::ok);
    ASSERT_EQ(back.next(v), io_status::ok);
    ASSERT_EQ(v.seq, seq);
    if (seq <= 97) break;
  }
}

// A segment header naming a first seq its first record does not have is
// not jumped to, by seek() nor by last_seq(): the reader walks from the
// segment before and reports the damage there (seek() into the segment
// before it said corrupt; last_seq() of a lying last header was wrong).
TEST(JournalReader, AHeaderWhoseFirstSeqDisagreesIsNotJumpedTo) {
  temp_dir t;
  constexpr uint64_t kN = 3000;
  ASSERT_NO_FATAL_FAILURE(write_many_segments(t, kN));
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(t.journal()))
    if (e.path().extension() == ".rjl") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 3u);
  auto first_seq_of = [](const std::filesystem::path& f) {
    std::ifstream in(f, std::ios::binary);
    char b[8];
    in.seekg(format::kHdrFirstSeq);
    in.read(b, 8);
    return format::load_u64(b);
  };
  auto set_first_seq = [](const std::filesystem::path& f, uint64_t v) {
    std::fstream io(f, std::ios::binary | std::ios::in | std::ios::out);
    io.seekp(format::kHdrFirstSeq);
    io.write(reinterpret_cast<const char*>(&v), 8);
  };
  // The last segment's header names a seq inside the one before it.
  const auto& last = files.back();
  const uint64_t last_first = first_seq_of(last);
  const uint64_t prev_first = first_seq_of(files[files.size() - 2]);
  ASSERT_GT(last_first, prev_first + 10);
  set_first_seq(last, prev_first + 5);
  journal_reader r(t.journal());
  EXPECT_EQ(r.last_seq(), last_first - 1) << "the sound records before the lying header";
  ASSERT_EQ(r.seek(prev_first + 8), io_status::ok) << "a seq before the damage";
  record_view v;
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(v.seq, prev_first + 8);
  for (uint64_t seq = prev_first + 9; seq < last_first; ++seq) {
    ASSERT_EQ(r.next(v), io_status::ok);
    ASSERT_EQ(v.seq, seq);
  }
  EXPECT_EQ(r.next(v), io_status::corrupt) << "the damage, where the walk reaches it";
}

// With reader_options::release, the segments a reader leaves behind go to
// that function (rill-core passes them to the writer's thread), in order;
// the one before the cursor's stays mapped.
TEST(JournalReader, SegmentsLeftBehindGoToTheReleaseFunction) {
  temp_dir t;
  constexpr uint64_t kN = 30'000;
  ASSERT_NO_FATAL_FAILURE(write_many_segments(t, kN));
  std::vector<uint32_t> released;
  reader_options ro;
  ro.release = [&](std::unique_ptr<segment_file> f) {
    ASSERT_TRUE(f);
    released.push_back(f->index());
  };
  journal_reader r(t.journal(), ro);
  record_view v;
  for (uint64_t seq = 1; seq <= kN; ++seq) {
    ASSERT_EQ(r.next(v), io_status::ok) << seq;
    ASSERT_EQ(v.seq, seq);
  }
  // Every segment from the first, each once, in order, but the cursor's and
  // the one before it (the directory also holds the writer's lock and the
  // next, empty segment the writer prepared).
  const auto files = static_cast<size_t>(std::distance(
      std::filesystem::directory_iterator(t.journal()), std::filesystem::directory_iterator()));
  ASSERT_GE(released.size(), 2u);
  EXPECT_LE(released.size() + 2, files);
  for (size_t i = 0; i < released.size(); ++i) EXPECT_EQ(released[i], i + 1);
  // Seeking back maps a released segment again.
  ASSERT_EQ(r.seek(1), io_status::ok);
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(v.seq, 1u);
}

// 20-22 KiB records in 64 KiB segments: two or three a segment. With
// keep_records = 8 the last 9 bodies returned stay readable while the
// segments behind them are unmapped (the release function drops each at
// once, so reading a released body would fault).
TEST(JournalReader, TheLastKeptRecordsStayReadableWithLargeRecordsInSmallSegments) {
  temp_dir t;
  constexpr uint64_t kN = 90;
  auto big_body = [](uint64_t seq) {
    std::string b(20'000 + (seq * 977) % 2'000, '\0');
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>((seq * 131 + i) & 0xff);
    return b;
  };
  {
    auto w = open_writer(small_options(t.journal()));
    ASSERT_TRUE(w);
    for (uint64_t seq = 1; seq <= kN; ++seq) {
      ASSERT_EQ(w->append(seq, big_body(seq)), io_status::ok) << seq;
      w->publish();
    }
  }
  std::vector<uint32_t> released;
  reader_options ro;
  ro.keep_records = 8;
  ro.release = [&](std::unique_ptr<segment_file> f) { released.push_back(f->index()); };
  journal_reader r(t.journal(), ro);
  std::vector<record_view> last;  // the last 9 returned
  record_view v;
  for (uint64_t seq = 1; seq <= kN; ++seq) {
    ASSERT_EQ(r.next(v), io_status::ok) << seq;
    ASSERT_EQ(v.seq, seq);
    last.push_back(v);
    if (last.size() > 9) last.erase(last.begin());
    for (const record_view& k : last)
      ASSERT_EQ(std::string(k.body.data(), k.body.size()), big_body(k.seq))
          << "seq " << k.seq << " read back after seq " << seq;
  }
  // Segments did go: all but the few holding the last 9 records and the
  // cursor's (about 3 records a segment, so some 30 segments in all).
  EXPECT_GE(released.size(), 20u);
  for (size_t i = 1; i < released.size(); ++i) EXPECT_LT(released[i - 1], released[i]);
}

TEST(JournalReader, SeekToCurrentPositionIsANoOp) {
  temp_dir t;
  auto w = open_writer(small_options(t.journal()));
  ASSERT_TRUE(w);
  append_range(*w, 1, 100);
  journal_reader r(t.journal());
  record_view v;
  ASSERT_EQ(r.seek(40), io_status::ok);
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(r.position_seq(), 41u);
  ASSERT_EQ(r.seek(41), io_status::ok);
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(v.seq, 41u);
}

TEST(JournalReader, SeekBeforeFirstPositionsAtFirstRecord) {
  temp_dir t;
  auto w = open_writer(small_options(t.journal()));
  ASSERT_TRUE(w);
  append_range(*w, 100, 120);
  journal_reader r(t.journal());
  record_view v;
  ASSERT_EQ(r.seek(3), io_status::ok);
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(v.seq, 100u);
  ASSERT_EQ(r.seek(0), io_status::ok);
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(v.seq, 100u);
}

TEST(JournalReader, SeekBeyondHeadWaitsForThatSeq) {
  temp_dir t;
  auto w = open_writer(small_options(t.journal()));
  ASSERT_TRUE(w);
  append_range(*w, 1, 10);
  journal_reader r(t.journal());
  record_view v;
  ASSERT_EQ(r.seek(2000), io_status::ok);
  EXPECT_EQ(r.position_seq(), 2000u);
  EXPECT_EQ(r.next(v), io_status::end_of_log);
  append_range(*w, 11, 1999, 50);
  EXPECT_EQ(r.next(v), io_status::end_of_log);
  append_range(*w, 2000, 2001);
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(v.seq, 2000u);
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(v.seq, 2001u);
}

TEST(JournalReader, LastSeqFollowsTheWriterWithoutMovingTheCursor) {
  temp_dir t;
  auto w = open_writer(small_options(t.journal()));
  ASSERT_TRUE(w);
  journal_reader r(t.journal());
  EXPECT_EQ(r.last_seq(), 0u);
  append_range(*w, 1, 5000, 100);
  EXPECT_EQ(r.last_seq(), 5000u);
  EXPECT_EQ(r.position_seq(), 1u);
  record_view v;
  ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(v.seq, 1u);
  ASSERT_EQ(w->append(5001, body_for(5001)), io_status::ok);
  EXPECT_EQ(r.last_seq(), 5000u);  // not published yet
  w->publish();
  EXPECT_EQ(r.last_seq(), 5001u);
  // A fresh reader finds the head of a long journal.
  journal_reader fresh(t.journal());
  EXPECT_EQ(fresh.last_seq(), 5001u);
}

TEST(JournalReader, WaitNextReturnsARecordPublishedLater) {
  temp_dir t;
  auto w = open_writer(small_options(t.journal()));
  ASSERT_TRUE(w);
  journal_reader r(t.journal());
  record_view v;
  EXPECT_EQ(r.wait_next(v, std::chrono::microseconds(2000)), io_status::end_of_log);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    append_range(*w, 1, 3);
  });
  ASSERT_EQ(r.wait_next(v, std::chrono::seconds(30)), io_status::ok);
  EXPECT_EQ(v.seq, 1u);
  writer.join();
}

TEST(JournalReader, ReaderInForkedProcessSeesRecordsWhileAppended) {
  temp_dir t;
  auto o = small_options(t.journal());
  constexpr uint64_t kN = 50'000;
  ASSERT_TRUE(open_writer(o));  // creates the directory and the first segment
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: tails the journal until it has read kN records, checking each.
    journal_reader r(o.dir);
    record_view v;
    uint64_t expect = 1;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (expect <= kN) {
      if (std::chrono::steady_clock::now() > deadline) ::_exit(3);
      io_status s = r.wait_next(v, std::chrono::milliseconds(100));
      if (s == io_status::end_of_log) continue;
      if (s != io_status::ok || v.seq != expect) ::_exit(1);
      if (std::string(v.body.data(), v.body.size()) != body_for(expect)) ::_exit(2);
      ++expect;
    }
    ::_exit(0);
  }
  {
    auto w = open_writer(o);
    ASSERT_TRUE(w);
    for (uint64_t s = 1; s <= kN; ++s) {
      ASSERT_EQ(w->append(s, body_for(s)), io_status::ok);
      if (s % 10 == 0) w->publish();
      if (s % 5000 == 0) std::this_thread::yield();
    }
    w->publish();
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(JournalReader, FlippedByteIsReportedAsCorrupt) {
  temp_dir t;
  auto o = small_options(t.journal());
  {
    auto w = open_writer(o);
    ASSERT_TRUE(w);
    append_range(*w, 1, 50);
  }
  const uint64_t off = record_offset(o.dir, 1, 20);
  char b = 0x55;
  write_at(seg_path(o.dir, 1), off + 16, &b, 1);
  journal_reader r(o.dir);
  record_view v;
  for (uint64_t s = 1; s < 20; ++s) ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(r.next(v), io_status::corrupt);
  EXPECT_EQ(r.next(v), io_status::corrupt);  // stays there
  EXPECT_EQ(r.position_seq(), 20u);
}

// Without checksums (the writer's own publisher), a flipped body byte is
// read as written; a record whose seq breaks the sequence is still corrupt.
TEST(JournalReader, WithoutChecksumsOnlyTheStructureIsChecked) {
  temp_dir t;
  auto o = small_options(t.journal());
  {
    auto w = open_writer(o);
    ASSERT_TRUE(w);
    append_range(*w, 1, 50);
  }
  const uint64_t off20 = record_offset(o.dir, 1, 20);
  char b = 0x55;
  write_at(seg_path(o.dir, 1), off20 + 16, &b, 1);
  const uint64_t off30 = record_offset(o.dir, 1, 30);
  char s = 0x7f;
  write_at(seg_path(o.dir, 1), off30 + 8, &s, 1);  // seq 30 -> 127

  journal_reader checked(o.dir);
  journal_reader unchecked(o.dir, reader_options{.verify_checksums = false});
  record_view v;
  for (uint64_t seq = 1; seq < 20; ++seq) ASSERT_EQ(checked.next(v), io_status::ok);
  EXPECT_EQ(checked.next(v), io_status::corrupt);
  for (uint64_t seq = 1; seq < 30; ++seq) {
    ASSERT_EQ(unchecked.next(v), io_status::ok) << seq;
    ASSERT_EQ(v.seq, seq);
    if (seq == 20) {
      EXPECT_EQ(v.body[0], 0x55);
    }
  }
  EXPECT_EQ(unchecked.next(v), io_status::corrupt);
  EXPECT_EQ(unchecked.position_seq(), 30u);
}

TEST(JournalReader, ReaderSeesRecordsAcrossWriterRestart) {
  temp_dir t;
  auto o = small_options(t.journal());
  journal_reader r(o.dir);
  record_view v;
  {
    auto w = open_writer(o);
    ASSERT_TRUE(w);
    append_range(*w, 1, 1000, 10);
  }
  for (uint64_t s = 1; s <= 1000; ++s) ASSERT_EQ(r.next(v), io_status::ok);
  EXPECT_EQ(r.next(v), io_status::end_of_log);
  {
    auto w = open_writer(o);
    ASSERT_TRUE(w);
    append_range(*w, 1001, 3000, 10);
  }
  for (uint64_t s = 1001; s <= 3000; ++s) {
    ASSERT_EQ(r.next(v), io_status::ok);
    ASSERT_EQ(v.seq, s);
  }
  EXPECT_EQ(r.next(v), io_status::end_of_log);
}

}  // namespace
}  // namespace rill::store::testing
