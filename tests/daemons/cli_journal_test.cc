// rill journal verify | dump on a journal written here (rill not running).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "store/journal_format.h"
#include "store/journal_writer.h"
#include "tests/daemons/cli_support.h"
#include "tests/support/small_journal.h"

namespace rill::test {
namespace {

class CliJournal : public ::testing::Test {
 protected:
  void SetUp() override { write_customer_journal(dir_.path() / "journal", kEvents, sizes_); }
  std::vector<std::string> args(std::vector<std::string> a) {
    a.insert(a.end(), {"--data", dir_.path().string()});
    return a;
  }
  uint64_t offset_of(uint64_t seq) const { return record_offset(sizes_, seq); }
  std::filesystem::path segment() const {
    return dir_.path() / "journal" / store::format::segment_file_name(1);
  }
  // Damages record `seq`'s body (its checksum no longer matches).
  bool flip_body_byte(uint64_t seq) const {
    const int fd = ::open(segment().c_str(), O_RDWR);
    if (fd < 0) return false;
    const auto at = static_cast<off_t>(offset_of(seq) + store::format::kRecBody + 3);
    char c = 0;
    bool ok = ::pread(fd, &c, 1, at) == 1;
    c ^= 0x5a;
    ok = ok && ::pwrite(fd, &c, 1, at) == 1;
    ::close(fd);
    return ok;
  }
  static constexpr uint64_t kEvents = 10;
  temp_dir dir_{"rcli"};
  std::vector<size_t> sizes_;
};

TEST_F(CliJournal, VerifyCleanJournal) {
  auto r = run_rill(args({"journal", "verify"}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("OK, 10 events (seq 1..10)"), std::string::npos) << r.out;
  auto j = run_rill(args({"journal", "verify", "--json"}));
  EXPECT_EQ(j.code, 0);
  auto v = parse_json(j.out);
  ASSERT_TRUE(v.is_object()) << j.out;
  EXPECT_EQ(v["ok"], true);
  EXPECT_EQ(v["head"], 10);
  EXPECT_EQ(v["records"], 10);
}

TEST_F(CliJournal, VerifyReportsTheFirstCorruptionWithItsPosition) {
  const auto seg = segment();
  const uint64_t off = offset_of(4);
  ASSERT_TRUE(flip_body_byte(4));

  auto r = run_rill(args({"journal", "verify"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("corrupt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(seg.filename().string() + " offset " + std::to_string(off) + " (seq 4)"),
            std::string::npos)
      << r.err;
  auto j = run_rill(args({"journal", "verify", "--json"}));
  EXPECT_EQ(j.code, 1);
  auto v = parse_json(j.out);
  ASSERT_TRUE(v.is_object()) << j.out;
  EXPECT_EQ(v["ok"], false);
  EXPECT_EQ(v["corruption"]["seq"], 4);
  EXPECT_EQ(v["corruption"]["offset"], off);
  EXPECT_EQ(v["corruption"]["segment"], 1);
  EXPECT_EQ(v["head"], 3);

  // dump prints what is sound, then fails at the bad record, naming it.
  auto d = run_rill(args({"journal", "dump"}));
  EXPECT_EQ(d.code, 1);
  EXPECT_EQ(lines_of(d.out).size(), 3u) << d.out;
  EXPECT_NE(d.err.find("rill: corrupt: "), std::string::npos) << d.err;
  EXPECT_NE(d.err.find(seg.filename().string() + " offset " + std::to_string(off) + " (seq 4)"),
            std::string::npos)
      << d.err;
}

// A bad last record is a write cut short (a torn tail, dropped at rill-core's
// next start): verify and dump agree that the journal is sound up to it.
TEST_F(CliJournal, VerifyAndDumpAgreeOnATornTail) {
  ASSERT_TRUE(flip_body_byte(kEvents));

  auto r = run_rill(args({"journal", "verify"}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("OK, 9 events (seq 1..9)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("a torn tail of"), std::string::npos) << r.out;

  auto d = run_rill(args({"journal", "dump"}));
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_EQ(lines_of(d.out).size(), kEvents - 1) << d.out;
  EXPECT_NE(d.err.find("rill: note: the journal ends with a torn tail of"), std::string::npos)
      << d.err;
  EXPECT_NE(d.err.find("after seq 9"), std::string::npos) << d.err;
}

TEST_F(CliJournal, DumpPrintsEveryEventOrARange) {
  auto r = run_rill(args({"journal", "dump"}));
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), kEvents) << r.out;
  EXPECT_EQ(lines[0].rfind("#1  ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("customer/CUSTOMER_CREATED  c1 v1"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"name\":\"Customer 1\""), std::string::npos) << lines[0];

  auto range = run_rill(args({"journal", "dump", "--from", "3", "--to", "5", "--json"}));
  ASSERT_EQ(range.code, 0) << range.err;
  auto jl = lines_of(range.out);
  ASSERT_EQ(jl.size(), 3u) << range.out;
  for (size_t i = 0; i < jl.size(); ++i) {
    auto ev = parse_json(jl[i]);
    ASSERT_TRUE(ev.is_object()) << jl[i];
    EXPECT_EQ(ev["seq"], 3 + i);
    EXPECT_EQ(ev["id"], "c" + std::to_string(3 + i));
    EXPECT_EQ(ev["data"]["email"], "c@example.com");
  }
  // --to 0 is a usage error, not "to the head" (it printed every event).
  auto zero = run_rill(args({"journal", "dump", "--to", "0"}));
  EXPECT_EQ(zero.code, 2) << zero.out << zero.err;
  EXPECT_TRUE(zero.out.empty()) << zero.out;
  auto beyond = run_rill(args({"journal", "dump", "--from", "11"}));
  EXPECT_EQ(beyond.code, 0);
  EXPECT_TRUE(beyond.out.empty()) << beyond.out;
}

// A journal of several 64 KiB segments.
class CliJournalSegments : public ::testing::Test {
 protected:
  void SetUp() override { write_customer_journal(journal(), kEvents, sizes_); }
  std::filesystem::path journal() const { return dir_.path() / "journal"; }
  std::vector<std::string> args(std::vector<std::string> a) {
    a.insert(a.end(), {"--data", dir_.path().string()});
    return a;
  }
  std::filesystem::path segment(uint32_t i) const {
    return journal() / store::format::segment_file_name(i);
  }
  uint32_t segments() const {
    uint32_t n = 0;
    while (std::filesystem::exists(segment(n + 1))) ++n;
    return n;
  }
  // Seqs of the records in segment i, and the offset of its last one.
  std::vector<uint64_t> records_in(uint32_t i, uint64_t& last_off) const {
    std::vector<uint64_t> seqs;
    std::ifstream f(segment(i), std::ios::binary);
    std::string b((std::istreambuf_iterator<char>(f)), {});
    for (uint64_t off = store::format::kHeaderSize; off + 16 <= b.size();) {
      const uint64_t w = store::format::load_u64(b.data() + off);
      if (w == 0 || w == store::format::kEndMarker) break;
      seqs.push_back(store::format::load_u64(b.data() + off + 8));
      last_off = off;
      off += store::format::record_size(store::format::commit_length(w));
    }
    return seqs;
  }
  static constexpr uint64_t kEvents = 2000;
  temp_dir dir_{"rcli"};
  std::vector<size_t> sizes_;
};

// A missing segment file with later ones after it is corruption: dump must
// not stop there as if the journal ended (it printed what came before and
// exited 0; found by an outside probe).
TEST_F(CliJournalSegments, DumpReportsAMissingMiddleSegment) {
  ASSERT_GE(segments(), 3u);
  uint64_t off = 0;
  const auto first = records_in(1, off);
  std::filesystem::remove(segment(2));
  auto v = run_rill(args({"journal", "verify"}));
  EXPECT_EQ(v.code, 1) << v.out << v.err;
  auto d = run_rill(args({"journal", "dump"}));
  EXPECT_EQ(d.code, 1) << d.err;
  EXPECT_EQ(lines_of(d.out).size(), first.size());
  EXPECT_NE(d.err.find("missing segment file " + store::format::segment_file_name(2)),
            std::string::npos)
      << d.err;
}

// A later segment's header damaged (its first-seq field overwritten, or the
// file cut inside its header): dump prints every record before that
// segment, then reports the corruption (it printed nothing: the seek to the
// first seq read every header first and gave up on the bad one; found by an
// outside probe).
TEST_F(CliJournalSegments, DumpPrintsTheSoundSegmentsBeforeABadHeader) {
  ASSERT_GE(segments(), 4u);
  uint64_t off = 0;
  const size_t before = records_in(1, off).size() + records_in(2, off).size();
  {
    std::fstream f(segment(3), std::ios::binary | std::ios::in | std::ios::out);
    const uint64_t one = 1;  // lower than the segments' before it
    f.seekp(store::format::kHdrFirstSeq);
    f.write(reinterpret_cast<const char*>(&one), sizeof one);
  }
  auto d = run_rill(args({"journal", "dump"}));
  EXPECT_EQ(d.code, 1) << d.err;
  auto lines = lines_of(d.out);
  ASSERT_EQ(lines.size(), before) << d.err;
  EXPECT_EQ(lines.front().rfind("#1  ", 0), 0u) << lines.front();
  EXPECT_NE(d.err.find("corrupt"), std::string::npos) << d.err;

  std::filesystem::resize_file(segment(3), 20);
  d = run_rill(args({"journal", "dump"}));
  EXPECT_EQ(d.code, 1) << d.err;
  EXPECT_EQ(lines_of(d.out).size(), before) << d.err;
  // --from past the damage: the walk there meets it; reported as verify
  // does, with the sound range (it said only "cannot seek").
  d = run_rill(args({"journal", "dump", "--from", std::to_string(kEvents - 5)}));
  EXPECT_EQ(d.code, 1) << d.err;
  EXPECT_TRUE(d.out.empty()) << d.out;
  EXPECT_NE(d.err.find("events up to seq " + std::to_string(before) + " are sound"),
            std::string::npos)
      << d.err;

  // A range that starts in a sound segment is printed too.
  d = run_rill(args({"journal", "dump", "--from", "5", "--to", "6"}));
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_EQ(lines_of(d.out).size(), 2u) << d.err;

  // A header naming a plausible but wrong first seq (inside segment 2's
  // range) is not trusted for the seek: a range in segment 2 after that seq
  // is printed (it was "cannot seek"), and dumping on reports the damage.
  std::filesystem::remove_all(journal());
  sizes_.clear();
  write_customer_journal(journal(), kEvents, sizes_);
  const auto second = records_in(2, off);
  ASSERT_GE(second.size(), 20u);
  {
    std::fstream f(segment(3), std::ios::binary | std::ios::in | std::ios::out);
    const uint64_t wrong = second[5];
    f.seekp(store::format::kHdrFirstSeq);
    f.write(reinterpret_cast<const char*>(&wrong), sizeof wrong);
  }
  const std::string from = std::to_string(second[10]), to = std::to_string(second[12]);
  d = run_rill(args({"journal", "dump", "--from", from, "--to", to}));
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_EQ(lines_of(d.out).size(), 3u) << d.err;
  d = run_rill(args({"journal", "dump", "--from", from}));
  EXPECT_EQ(d.code, 1) << d.err;
  EXPECT_EQ(lines_of(d.out).size(), second.size() - 10) << d.err;
  EXPECT_NE(d.err.find("does not match first record seq"), std::string::npos) << d.err;
}

// The prepared, still empty last segment's header names a seq of the
// segment before (damage the writer repairs at its next start): its claim
// cannot be checked against a record, so it is not jumped to, and
// `dump --from` prints the events there (it printed nothing, exit 0).
TEST_F(CliJournalSegments, AnEmptyLastSegmentsHeaderIsNotTrustedForTheSeek) {
  const uint32_t n = segments();
  ASSERT_GE(n, 2u);
  uint64_t off = 0;
  const auto last = records_in(n, off);
  ASSERT_GE(last.size(), 10u);
  ASSERT_EQ(last.back(), kEvents);
  // The next file, as the writer prepares it (a header, nothing published),
  // but with a first seq in the header that is a seq of segment n.
  {
    const uint64_t size = std::filesystem::file_size(segment(n));
    std::array<char, store::format::kHeaderSize> header{};
    store::format::segment_header h;
    h.index = n + 1;
    h.segment_size = size;
    store::format::encode_header(h, header);
    store::format::store_u64(header.data() + store::format::kHdrFirstSeq, last[last.size() - 5]);
    std::ofstream f(segment(n + 1), std::ios::binary);
    f.write(header.data(), header.size());
    const std::string zeros(size - header.size(), '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  auto v = run_rill(args({"journal", "verify"}));
  EXPECT_EQ(v.code, 0) << v.out << v.err;
  auto d = run_rill(args({"journal", "dump", "--from", std::to_string(last[last.size() - 5])}));
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_EQ(lines_of(d.out).size(), 5u) << d.err;
}

// truncate follows the same chain as verify: a segment whose header names
// another first seq ends it, so a cut past it is refused (exit 2, naming
// where the sound part ends), and a cut at its end works and leaves a
// journal verify accepts (a cut past it was accepted, and rill-core still
// refused the journal; an outside re-probe).
TEST_F(CliJournalSegments, TruncateStopsWhereAHeaderDisagrees) {
  ASSERT_GE(segments(), 3u);
  uint64_t off = 0;
  const auto first = records_in(1, off);
  {
    std::fstream f(segment(2), std::ios::binary | std::ios::in | std::ios::out);
    const uint64_t wrong = kEvents;
    f.seekp(store::format::kHdrFirstSeq);
    f.write(reinterpret_cast<const char*>(&wrong), sizeof wrong);
  }
  const std::string sound = std::to_string(first.back());
  auto past = run_rill(args({"journal", "truncate", "--after", "1000", "--yes"}));
  EXPECT_EQ(past.code, 2) << past.out << past.err;
  EXPECT_NE(past.err.find("ends at seq " + sound), std::string::npos) << past.err;
  auto dry = run_rill(args({"journal", "truncate", "--after", sound, "--dry-run"}));
  EXPECT_EQ(dry.code, 0) << dry.err;
  EXPECT_NE(dry.out.find("0 events"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find(std::to_string(kEvents - first.back()) + " more records past the damage"),
            std::string::npos)
      << dry.out;
  auto cut = run_rill(args({"journal", "truncate", "--after", sound, "--yes"}));
  EXPECT_EQ(cut.code, 0) << cut.out << cut.err;
  auto v = run_rill(args({"journal", "verify"}));
  EXPECT_EQ(v.code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("(seq 1.." + sound + ")"), std::string::npos) << v.out;
}

// The last segment file cut short inside a record (a crash while the file
// was being written back): verify calls it a torn tail, and dump prints
// every sound record before the cut, the last segment's included (it
// stopped at the start of that segment and exited 1).
TEST_F(CliJournalSegments, DumpReadsATruncatedLastSegmentUpToTheCut) {
  const uint32_t n = segments();
  ASSERT_GE(n, 2u);
  uint64_t last_off = 0;
  const auto last = records_in(n, last_off);
  ASSERT_GE(last.size(), 2u);
  ASSERT_EQ(last.back(), kEvents);
  std::filesystem::resize_file(segment(n), last_off + 20);
  auto v = run_rill(args({"journal", "verify"}));
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_NE(v.out.find("seq 1.." + std::to_string(kEvents - 1) + ")"), std::string::npos) << v.out;
  auto d = run_rill(args({"journal", "dump"}));
  EXPECT_EQ(d.code, 0) << d.err;
  const auto lines = lines_of(d.out);
  ASSERT_EQ(lines.size(), kEvents - 1) << d.err;
  EXPECT_EQ(lines.back().rfind("#" + std::to_string(kEvents - 1) + "  ", 0), 0u) << lines.back();
  EXPECT_NE(d.err.find("torn tail"), std::string::npos) << d.err;
}

// rill journal truncate: the operator's way past corruption that makes
// rill-core refuse the journal. It asks for --yes, saves what it drops,
// and moves aside the index checkpoint and snapshots taken after the cut.
TEST_F(CliJournal, TruncateCutsAfterASeqAndSavesWhatItDrops) {
  ASSERT_TRUE(flip_body_byte(4));
  ASSERT_EQ(run_rill(args({"journal", "verify"})).code, 1);
  const auto data = dir_.path();
  std::filesystem::create_directories(data / "index");
  {
    std::ofstream idx(data / "index" / "checkpoint.idx", std::ios::binary);
    char head[32] = {'R', 'I', 'L', 'L', 'I', 'D', 'X', '1', 1};
    store::format::store_u64(head + 16, 9);  // a checkpoint at seq 9
    idx.write(head, sizeof head);
  }
  const auto snaps = data / "models" / "customers";
  std::filesystem::create_directories(snaps);
  std::ofstream(snaps / "snap-00000000000000000002.rsnap") << "kept";
  std::ofstream(snaps / "snap-00000000000000000005.rsnap") << "moved";

  auto past = run_rill(args({"journal", "truncate", "--after", "5", "--yes"}));
  EXPECT_EQ(past.code, 2) << past.err;
  EXPECT_NE(past.err.find("ends at seq 3"), std::string::npos) << past.err;
  auto asks = run_rill(args({"journal", "truncate", "--after", "3"}));
  EXPECT_EQ(asks.code, 2);
  EXPECT_NE(asks.out.find("would drop"), std::string::npos) << asks.out;
  EXPECT_NE(asks.err.find("--yes"), std::string::npos) << asks.err;
  auto dry = run_rill(args({"journal", "truncate", "--after", "3", "--dry-run"}));
  EXPECT_EQ(dry.code, 0) << dry.err;
  EXPECT_NE(dry.out.find("move index/checkpoint.idx (seq 9)"), std::string::npos) << dry.out;
  EXPECT_EQ(run_rill(args({"journal", "verify"})).code, 1) << "neither changed anything";

  // Refused while a daemon holds its pid file's lock.
  {
    std::filesystem::create_directories(data / "run");
    const int fd = ::open((data / "run" / "rill-core.pid").c_str(), O_RDWR | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX), 0);
    auto busy = run_rill(args({"journal", "truncate", "--after", "3", "--yes"}));
    ::close(fd);
    EXPECT_EQ(busy.code, 1);
    EXPECT_NE(busy.err.find("already_running"), std::string::npos) << busy.err;
    EXPECT_NE(busy.err.find("rill-core"), std::string::npos) << busy.err;
    // Started by hand, not by rill up: rill down would say "nothing to
    // stop", so the advice is to stop the daemon itself (an outside probe).
    EXPECT_EQ(busy.err.find("rill down"), std::string::npos) << busy.err;
    EXPECT_NE(busy.err.find("not started by 'rill up'"), std::string::npos) << busy.err;
  }

  auto cut = run_rill(args({"journal", "truncate", "--after", "3", "--yes", "--json"}));
  ASSERT_EQ(cut.code, 0) << cut.err;
  auto j = parse_json(cut.out);
  ASSERT_TRUE(j.is_object()) << cut.out;
  EXPECT_EQ(j["done"], true);
  EXPECT_EQ(j["sound_head"], 3);
  EXPECT_GT(j["dropped_bytes"].get<uint64_t>(), 0u);
  ASSERT_EQ(j["moved"].size(), 2u) << j.dump();
  const std::filesystem::path backup = j["backup"].get<std::string>();
  EXPECT_EQ(backup.parent_path(), data);
  EXPECT_TRUE(std::filesystem::exists(backup / "journal" / segment().filename()));
  EXPECT_TRUE(std::filesystem::exists(backup / "index" / "checkpoint.idx"));
  EXPECT_TRUE(
      std::filesystem::exists(backup / "models" / "customers" / "snap-00000000000000000005.rsnap"));
  EXPECT_TRUE(std::filesystem::exists(snaps / "snap-00000000000000000002.rsnap"));
  EXPECT_FALSE(std::filesystem::exists(data / "index" / "checkpoint.idx"));

  auto v = run_rill(args({"journal", "verify"}));
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_NE(v.out.find("OK, 3 events (seq 1..3)"), std::string::npos) << v.out;
  auto again = run_rill(args({"journal", "truncate", "--after", "3", "--yes"}));
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("nothing after seq 3 to drop"), std::string::npos) << again.out;
}

TEST_F(CliJournal, TruncateOfASoundJournalCountsTheEventsItDrops) {
  auto cut = run_rill(args({"journal", "truncate", "--after", "7", "--yes"}));
  ASSERT_EQ(cut.code, 0) << cut.err;
  EXPECT_NE(cut.out.find("dropped 3 events (seq 8..10) after seq 7"), std::string::npos) << cut.out;
  EXPECT_NE(cut.out.find("saved what was dropped to " + dir_.path().string() + "/journal-dropped-"),
            std::string::npos)
      << cut.out;
  auto d = run_rill(args({"journal", "dump", "--json"}));
  EXPECT_EQ(d.code, 0);
  EXPECT_EQ(lines_of(d.out).size(), 7u);
}

// Events the core accepted before it checked nested values (a map key
// that is not a string), and ids with control characters: dump prints
// each, on one line, and never skips one.
TEST(CliJournalText, OddEventsPrintOnOneLineEach) {
  temp_dir d("rcli");
  auto w = open_small_journal(d.path() / "journal");
  ASSERT_TRUE(w);
  auto event = [](uint64_t seq, const std::string& id, const std::string& raw_data) {
    // {"seq", "ts", "type", "agg", "id", "ver", "data"} with data given raw.
    nlohmann::json head = {{"seq", seq},     {"ts", 1'700'000'000'000'000'000ull},
                           {"type", "MADE"}, {"agg", "thing"},
                           {"id", id},       {"ver", 1}};
    auto bytes = nlohmann::json::to_msgpack(head);
    bytes[0] = static_cast<uint8_t>(0x80 | 7);  // fixmap of 7 entries
    for (char c : std::string("\xa4"
                              "data") +
                      raw_data)
      bytes.push_back(static_cast<uint8_t>(c));
    return bytes;
  };
  const std::vector<std::vector<uint8_t>> events = {
      event(1, "x0", std::string("\x81\xa1m\x81\xa1k\x01", 7)),  // {"m": {"k": 1}}
      event(2, "x1", std::string("\x81\xa1m\x81\x01\x02", 6)),   // {"m": {1: 2}}
      event(3, "x7\n#99 fake", std::string("\x80", 1)),
  };
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(w->append(i + 1, {reinterpret_cast<const char*>(events[i].data()), events[i].size()}),
              store::io_status::ok);
    w->publish();
  }
  ASSERT_EQ(w->flush(), store::io_status::ok);
  w.reset();
  auto r = run_rill({"journal", "dump", "--data", d.path().string()});
  EXPECT_EQ(r.code, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out << r.err;
  EXPECT_NE(lines[1].find(R"({"m":{"1":2}})"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find(R"("x7\n#99 fake")"), std::string::npos) << lines[2];
  EXPECT_EQ(r.err, "");
  auto j = run_rill({"journal", "dump", "--json", "--data", d.path().string()});
  ASSERT_EQ(lines_of(j.out).size(), 3u) << j.err;
  EXPECT_EQ(parse_json(lines_of(j.out)[2])["id"], "x7\n#99 fake");
}

TEST(CliJournalMissing, NoJournalIsNotFound) {
  temp_dir d("rcli");
  for (const char* sub : {"verify", "dump"}) {
    auto r = run_rill({"journal", sub, "--data", d.path().string()});
    EXPECT_EQ(r.code, 1) << sub;
    EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace rill::test

namespace rill::test {
namespace {

// `journal dump` without --to ends at the head it saw at its start, as
// `tail --no-follow` does: under a steady load it followed the growing end
// and never finished (an outside probe). A writer appends all the while.
using namespace std::chrono_literals;

TEST(CliJournalLive, DumpWithoutToEndsAtTheHeadItSawAtItsStart) {
  temp_dir d("rcli");
  auto w = open_small_journal(d.path() / "journal");
  ASSERT_TRUE(w);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> written{0};
  // The same event body each time but for its seq, written as a msgpack
  // uint64 (0xcf and 8 bytes) that is patched in place: the writer stays far
  // faster than a dump formats lines, so a dump that followed the end would
  // read on to where the writer stops.
  auto body =
      nlohmann::json::to_msgpack(nlohmann::json{{"seq", uint64_t{1} << 40},
                                                {"type", "CUSTOMER_CREATED"},
                                                {"agg", "customer"},
                                                {"id", "c"},
                                                {"ver", 1},
                                                {"ts", 1},
                                                {"data", {{"name", "N"}, {"email", "e@x"}}}});
  const uint8_t pattern[] = {0xcf, 0x00, 0x00, 0x01};  // 2^40 as a msgpack uint64
  const auto marker = std::search(body.begin(), body.end(), std::begin(pattern), std::end(pattern));
  ASSERT_NE(marker, body.end());
  const size_t seq_at = static_cast<size_t>(marker - body.begin()) + 1;
  constexpr uint64_t kLast = 1'000'000;
  std::thread writer([&] {
    for (uint64_t seq = 1; !stop.load() && seq <= kLast; ++seq) {
      for (int b = 0; b < 8; ++b) body[seq_at + b] = static_cast<uint8_t>(seq >> (56 - 8 * b));
      if (w->append(seq, {reinterpret_cast<const char*>(body.data()), body.size()}) !=
          store::io_status::ok)
        return;
      w->publish();
      written = seq;
    }
  });
  ASSERT_TRUE(eventually([&] { return written.load() > 20000; }, 30s));
  const uint64_t before = written.load();
  auto r = run_rill({"journal", "dump", "--data", d.path().string()}, {.timeout = 60s});
  stop = true;
  writer.join();
  EXPECT_EQ(r.code, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front().rfind("#1 ", 0), 0u) << lines.front();
  const uint64_t last = std::stoull(lines.back().substr(1));
  EXPECT_GE(last, before) << "at least what was there when it started";
  EXPECT_LT(last, before + 300'000)
      << "not what was written while it ran (the writer went on to " << written.load() << ")";
  EXPECT_EQ(lines.size(), last) << "every event once, in order";
}

}  // namespace
}  // namespace rill::test
