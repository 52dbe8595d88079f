// The frozen format values, names, header codec, checksum, sync modes.
#include "store/journal_format.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "store/status.h"
#include "store/sync_mode.h"

namespace rill::store::format {
namespace {

TEST(JournalFormat, FrozenValues) {
  EXPECT_EQ(kHeaderSize, 64u);
  EXPECT_EQ(kVersion, 1u);
  EXPECT_EQ(std::string(kMagic, 8), "RILLJRNL");
  EXPECT_EQ(kEndMarker, 0x454E4421FFFFFFFFull);
  EXPECT_EQ(record_size(0), 16u);
  EXPECT_EQ(record_size(1), 24u);
  EXPECT_EQ(record_size(8), 24u);
  EXPECT_EQ(record_size(100), 120u);
  EXPECT_EQ(max_body_size(64 << 10), (64u << 10) - 88);
  EXPECT_EQ(commit_length(make_commit(7, 0xdeadbeef)), 7u);
  EXPECT_EQ(commit_checksum(make_commit(7, 0xdeadbeef)), 0xdeadbeefu);
}

TEST(JournalFormat, ChecksumCoversSeqLengthAndBody) {
  std::string body = "hello";
  uint32_t c = record_checksum(1, body.data(), 5);
  EXPECT_NE(c, record_checksum(2, body.data(), 5));
  EXPECT_NE(c, record_checksum(1, body.data(), 4));
  body[0] = 'j';
  EXPECT_NE(c, record_checksum(1, body.data(), 5));
  // Large bodies take the streaming path; same definition.
  std::string big(5000, 'q');
  uint32_t a = record_checksum(9, big.data(), 5000);
  big[4999] = 'r';
  EXPECT_NE(a, record_checksum(9, big.data(), 5000));
}

// The definition, spelled out: the low 32 bits of XXH3-64 over
// seq (8 bytes LE) ++ length (4 bytes LE) ++ body. record_checksum() copies
// in 16-byte words with an overlapping last word; every length up to past the
// one-shot limit and every alignment of the body must give the same value.
TEST(JournalFormat, ChecksumIsXxh3OfSeqLengthBodyAtEveryLengthAndAlignment) {
  std::vector<char> src(1100 + 16);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<char>(i * 131 + 7);
  for (uint32_t len = 0; len <= 1100; ++len) {
    for (size_t align = 0; align < 16; align += (len < 64 ? 1 : 5)) {
      const char* body = src.data() + align;
      const uint64_t seq = 0x0102030405060708ull + len;
      std::string plain(12, '\0');
      store_u64(plain.data(), seq);
      store_u32(plain.data() + 8, len);
      plain.append(body, len);
      const auto want = static_cast<uint32_t>(XXH3_64bits(plain.data(), plain.size()));
      ASSERT_EQ(record_checksum(seq, body, len), want) << "length " << len << ", align " << align;
    }
  }
}

TEST(JournalFormat, SegmentFileNames) {
  EXPECT_EQ(segment_file_name(1), "seg-0000000001.rjl");
  EXPECT_EQ(segment_file_name(4294967295u), "seg-4294967295.rjl");
  EXPECT_EQ(parse_segment_file_name("seg-0000000042.rjl"), 42u);
  EXPECT_EQ(parse_segment_file_name("seg-0000000000.rjl"), 0u);
  EXPECT_EQ(parse_segment_file_name("seg-000000042.rjl"), 0u);
  EXPECT_EQ(parse_segment_file_name("seg-0000000042.rjl.tmp"), 0u);
  EXPECT_EQ(parse_segment_file_name("seg-9999999999.rjl"), 0u);
  EXPECT_EQ(parse_segment_file_name("seg-00000000a2.rjl"), 0u);
}

TEST(JournalFormat, HeaderRoundTripAndChecks) {
  char buf[kHeaderSize];
  segment_header h;
  h.index = 7;
  h.segment_size = 1 << 20;
  h.created_ns = 123;
  encode_header(h, std::span<char, kHeaderSize>(buf));
  segment_header d;
  ASSERT_EQ(decode_header(std::span<const char, kHeaderSize>(buf), d), header_check::ok);
  EXPECT_EQ(d.index, 7u);
  EXPECT_EQ(d.segment_size, 1u << 20);
  EXPECT_EQ(d.created_ns, 123u);
  // The first-seq field is outside the checksum.
  store_u64(buf + kHdrFirstSeq, 55);
  EXPECT_EQ(decode_header(std::span<const char, kHeaderSize>(buf), d), header_check::ok);
  buf[20] ^= 1;
  EXPECT_EQ(decode_header(std::span<const char, kHeaderSize>(buf), d), header_check::bad_checksum);
  buf[20] ^= 1;
  buf[0] = 'X';
  EXPECT_EQ(decode_header(std::span<const char, kHeaderSize>(buf), d), header_check::bad_magic);
}

TEST(SyncMode, ParsesAndPrints) {
  EXPECT_EQ(sync_mode::parse("none")->k, sync_mode::kind::none);
  EXPECT_EQ(sync_mode::parse("batch")->k, sync_mode::kind::batch);
  auto i = sync_mode::parse("interval:250");
  ASSERT_TRUE(i);
  EXPECT_EQ(i->k, sync_mode::kind::interval);
  EXPECT_EQ(i->interval_ms, 250u);
  EXPECT_EQ(i->to_string(), "interval:250");
  EXPECT_EQ(sync_mode::parse("interval:60000")->interval_ms, 60000u);
  EXPECT_EQ(sync_mode::parse("interval:1")->interval_ms, 1u);
  for (const char* bad : {"", "None", "interval", "interval:", "interval:0", "interval:60001",
                          "interval:-5", "interval:+5", "interval:5ms", "interval: 5",
                          "interval:999999999999", "batch ", "sync"}) {
    EXPECT_FALSE(sync_mode::parse(bad)) << bad;
  }
  EXPECT_EQ(sync_mode::parse("batch")->to_string(), "batch");
  EXPECT_EQ(sync_mode{}.to_string(), "none");
}

TEST(IoStatus, Names) {
  EXPECT_EQ(to_string(io_status::ok), "ok");
  EXPECT_EQ(to_string(io_status::end_of_log), "end_of_log");
  EXPECT_EQ(to_string(io_status::too_large), "too_large");
  EXPECT_EQ(to_string(io_status::io_error), "io_error");
  EXPECT_EQ(to_string(io_status::corrupt), "corrupt");
  EXPECT_EQ(to_string(io_status::invalid_argument), "invalid_argument");
}

}  // namespace
}  // namespace rill::store::format
