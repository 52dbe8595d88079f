#include "core/msgpack_decode.h"

#include <gtest/gtest.h>

#include <limits>

#include "core/msgpack_check.h"
#include "core/msgpack_pack.h"
#include "tests/core/msgpack_test_util.h"

namespace rill {
namespace {

using test::json;
using test::mp;

// decode_msgpack must build the same tree as msgpack-c's own unpack.
void expect_same_as_msgpack_c(const std::string& bytes) {
  msgpack::zone zone;
  const msgpack::object* mine = nullptr;
  std::string message;
  ASSERT_EQ(decode_msgpack({bytes.data(), bytes.size()}, zone, limits{}, mine, message), errc::ok)
      << message;
  ASSERT_NE(mine, nullptr);
  msgpack::object_handle theirs = msgpack::unpack(bytes.data(), bytes.size());
  EXPECT_EQ(*mine, theirs.get());
  // pack_object writes the same smallest encodings msgpack-c does.
  out_buffer again;
  pack_object(again, *mine);
  out_buffer reference;
  msgpack::packer<out_buffer>(reference).pack(theirs.get());
  EXPECT_EQ(again.view(), reference.view());
  EXPECT_EQ(check_msgpack({bytes.data(), bytes.size()}, limits{}, message), errc::ok) << message;
}

TEST(MsgpackDecode, BuildsTheSameTreeAsMsgpackC) {
  expect_same_as_msgpack_c(mp(json{{"cmd", "X"}, {"n", {1, -1, 300, -300, 70000, -70000}},
                                   {"f", 2.5}, {"b", true}, {"z", nullptr},
                                   {"m", {{"deep", {{"er", json::array()}}}}},
                                   {"e", json::object()}}));
  out_buffer b;
  msgpack::packer<out_buffer> pk(b);
  pk.pack_array(9);
  pk.pack_uint64(std::numeric_limits<uint64_t>::max());
  pk.pack_int64(std::numeric_limits<int64_t>::min());
  pk.pack_float(1.25f);
  pk.pack_double(-0.0);
  pk.pack_bin(3);
  pk.pack_bin_body("\x00\xff\x01", 3);
  pk.pack_ext(2, 7);
  pk.pack_ext_body("ab", 2);
  pk.pack_ext(5, -3);
  pk.pack_ext_body("hello", 5);
  pk.pack_str(0);
  pk.pack_map(1);
  pk.pack_int64(-5);  // a non-string key
  pk.pack_nil();
  expect_same_as_msgpack_c(std::string(b.view()));
  expect_same_as_msgpack_c(mp(json(std::string(70000, 'x'))));  // str32
  expect_same_as_msgpack_c(mp(json(std::vector<int>(70000, 1))));  // array32
}

TEST(MsgpackDecode, RejectsWhatCheckRejects) {
  limits lim;
  lim.max_depth = 3;
  lim.max_elements = 10;
  const std::vector<std::string> bad = {
      "",
      std::string("\xc1", 1),
      mp(json{{"a", {{"b", {{"c", {1}}}}}}}),  // depth 4
      mp(json(std::vector<int>(10, 1))),     // 11 values
      mp(json(1)) + mp(json(2)),             // trailing bytes
      std::string("\x92\x01", 2),            // truncated
      std::string("\xa2\xc3\x28", 3),        // invalid UTF-8
      std::string("\xdd\xff\xff\xff\xff", 5),
  };
  for (const std::string& b : bad) {
    msgpack::zone zone;
    const msgpack::object* o = nullptr;
    std::string m1, m2;
    EXPECT_EQ(decode_msgpack({b.data(), b.size()}, zone, lim, o, m1), errc::bad_request) << b.size();
    EXPECT_EQ(o, nullptr);
    EXPECT_EQ(check_msgpack({b.data(), b.size()}, lim, m2), errc::bad_request) << b.size();
    EXPECT_EQ(m1, m2);
  }
}

}  // namespace
}  // namespace rill
