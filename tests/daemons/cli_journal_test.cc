// rill journal verify | dump on a journal written here (rill not running).
#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "store/journal_format.h"
#include "store/journal_writer.h"
#include "tests/daemons/cli_support.h"

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
