#include "readmodels/snapshot_format.h"

#include <gtest/gtest.h>

#include <string>

namespace rill::readmodels {
namespace {

namespace sf = snapshot_format;

std::string make_file(const std::string& model, uint64_t seq, const std::string& body) {
  sf::header h;
  h.seq = seq;
  h.body_length = body.size();
  h.body_checksum = sf::checksum(body);
  h.event_fingerprint = sf::event_fingerprint(seq, 42);
  h.created_ns = 123;
  h.model = model;
  std::string file;
  sf::encode_prefix(h, file);
  return file + body;
}

sf::check decode(const std::string& file, sf::header& h, std::span<const char>& body) {
  return sf::decode({file.data(), file.size()}, h, body);
}

TEST(SnapshotFormat, RoundTrip) {
  const std::string file = make_file("customers", 77, "hello state");
  EXPECT_EQ(file.size() % 8, 3u);  // prefix padded to 8, body follows unpadded
  sf::header h;
  std::span<const char> body;
  ASSERT_EQ(decode(file, h, body), sf::check::ok);
  EXPECT_EQ(h.seq, 77u);
  EXPECT_EQ(h.model, "customers");
  EXPECT_EQ(h.created_ns, 123u);
  EXPECT_EQ(h.event_fingerprint, sf::event_fingerprint(77, 42));
  EXPECT_EQ(std::string(body.data(), body.size()), "hello state");
}

TEST(SnapshotFormat, EmptyBodyIsValid) {
  const std::string file = make_file("m", 0, "");
  sf::header h;
  std::span<const char> body;
  ASSERT_EQ(decode(file, h, body), sf::check::ok);
  EXPECT_TRUE(body.empty());
}

TEST(SnapshotFormat, FingerprintDependsOnSeqAndTs) {
  EXPECT_EQ(sf::event_fingerprint(0, 5), 0u);
  EXPECT_NE(sf::event_fingerprint(1, 5), sf::event_fingerprint(1, 6));
  EXPECT_NE(sf::event_fingerprint(1, 5), sf::event_fingerprint(2, 5));
}

TEST(SnapshotFormat, TruncatedAnywhereIsRejected) {
  const std::string file = make_file("orders", 5, std::string(100, 'x'));
  for (size_t n = 0; n < file.size(); ++n) {
    sf::header h;
    std::span<const char> body;
    const auto c = decode(file.substr(0, n), h, body);
    EXPECT_NE(c, sf::check::ok) << "length " << n;
  }
}

TEST(SnapshotFormat, EveryFlippedByteIsDetected) {
  const std::string good = make_file("orders", 5, std::string(40, 'x'));
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x01;
    sf::header h;
    std::span<const char> body;
    EXPECT_NE(decode(bad, h, body), sf::check::ok) << "byte " << i;
  }
}

TEST(SnapshotFormat, SpecificFailures) {
  const std::string good = make_file("m", 5, "body");
  sf::header h;
  std::span<const char> body;
  std::string bad = good;
  bad[0] = 'X';
  EXPECT_EQ(decode(bad, h, body), sf::check::bad_magic);
  bad = good;
  bad[sf::kOffVersion] = 2;
  EXPECT_EQ(decode(bad, h, body), sf::check::bad_version);
  bad = good;
  bad[sf::kOffSeq] ^= 1;
  EXPECT_EQ(decode(bad, h, body), sf::check::bad_checksum);
  bad = good + "extra";
  EXPECT_EQ(decode(bad, h, body), sf::check::bad_length);
  bad = good;
  bad.back() ^= 1;
  EXPECT_EQ(decode(bad, h, body), sf::check::bad_body);
}

TEST(SnapshotFormat, FileNames) {
  EXPECT_EQ(sf::file_name(1234), "snap-00000000000000001234.rsnap");
  uint64_t seq = 0;
  EXPECT_TRUE(sf::parse_file_name("snap-00000000000000001234.rsnap", seq));
  EXPECT_EQ(seq, 1234u);
  EXPECT_TRUE(sf::parse_file_name(sf::file_name(UINT64_MAX), seq));
  EXPECT_EQ(seq, UINT64_MAX);
  EXPECT_FALSE(sf::parse_file_name("snap-00000000000000001234.rsnap.partial", seq));
  EXPECT_FALSE(sf::parse_file_name("snap-0000000000000000123x.rsnap", seq));
  EXPECT_FALSE(sf::parse_file_name("snap-99999999999999999999.rsnap", seq));  // overflows
  EXPECT_FALSE(sf::parse_file_name("snap-1.rsnap", seq));
}

}  // namespace
}  // namespace rill::readmodels
