#include "core/msgpack_cursor.h"

#include <gtest/gtest.h>

#include <limits>

#include "core/buffer.h"
#include "core/msgpack.h"
#include "tests/core/msgpack_test_util.h"

namespace rill {
namespace {

using test::json;
using test::mp;

TEST(OutBuffer, GrowsAndIsReusedWithoutReallocating) {
  out_buffer b;
  std::string big(10000, 'x');
  b.append(big);
  EXPECT_EQ(b.size(), 10000u);
  EXPECT_EQ(b.view(), big);
  const char* p = b.data();
  const size_t cap = b.capacity();
  b.clear();
  EXPECT_TRUE(b.empty());
  b.append("hello");
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.capacity(), cap);
  EXPECT_EQ(b.view(), "hello");
  out_buffer moved(std::move(b));
  EXPECT_EQ(moved.view(), "hello");
  EXPECT_EQ(b.size(), 0u);  // NOLINT: moved-from is empty
}

TEST(MsgpackCursor, ReadsEveryScalarWidth) {
  out_buffer b;
  msgpack::packer<out_buffer> pk(b);
  pk.pack_uint64(5);
  pk.pack_uint64(200);
  pk.pack_uint64(60000);
  pk.pack_uint64(4000000000ull);
  pk.pack_uint64(std::numeric_limits<uint64_t>::max());
  pk.pack_int64(-3);
  pk.pack_int64(-200);
  pk.pack_int64(std::numeric_limits<int64_t>::min());
  pk.pack_double(2.5);
  pk.pack_float(1.5f);
  pk.pack_true();
  pk.pack_nil();
  pk.pack_str(3);
  pk.pack_str_body("abc", 3);
  pk.pack_bin(2);
  pk.pack_bin_body("\x01\x02", 2);
  msgpack_cursor c(b.span());
  uint64_t u;
  int64_t i;
  double d;
  bool t;
  std::string_view s;
  ASSERT_TRUE(c.read_uint(u));
  EXPECT_EQ(u, 5u);
  ASSERT_TRUE(c.read_uint(u));
  EXPECT_EQ(u, 200u);
  ASSERT_TRUE(c.read_uint(u));
  EXPECT_EQ(u, 60000u);
  ASSERT_TRUE(c.read_uint(u));
  EXPECT_EQ(u, 4000000000ull);
  EXPECT_FALSE(c.read_int(i));  // UINT64_MAX does not fit int64
  ASSERT_TRUE(c.read_uint(u));
  EXPECT_EQ(u, std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(c.read_uint(u));  // negative
  ASSERT_TRUE(c.read_int(i));
  EXPECT_EQ(i, -3);
  ASSERT_TRUE(c.read_int(i));
  EXPECT_EQ(i, -200);
  ASSERT_TRUE(c.read_int(i));
  EXPECT_EQ(i, std::numeric_limits<int64_t>::min());
  ASSERT_TRUE(c.read_number(d));
  EXPECT_EQ(d, 2.5);
  ASSERT_TRUE(c.read_number(d));
  EXPECT_EQ(d, 1.5);
  ASSERT_TRUE(c.read_bool(t));
  EXPECT_TRUE(t);
  EXPECT_TRUE(c.read_nil());
  EXPECT_FALSE(c.read_uint(u));  // a str: fails without moving
  ASSERT_TRUE(c.read_str(s));
  EXPECT_EQ(s, "abc");
  ASSERT_TRUE(c.read_bin(s));
  EXPECT_EQ(s, std::string_view("\x01\x02", 2));
  EXPECT_TRUE(c.at_end());
  EXPECT_EQ(c.peek_kind(), msgpack_cursor::kind::end);
}

TEST(MsgpackCursor, SkipsNestedValuesAndStopsOnTruncation) {
  const std::string m = mp(json{{"a", {1, 2, {{"b", "c"}}}}, {"d", json::array()}});
  msgpack_cursor c({m.data(), m.size()});
  ASSERT_TRUE(c.skip());
  EXPECT_TRUE(c.at_end());
  for (size_t cut = 0; cut < m.size(); ++cut) {
    msgpack_cursor t({m.data(), cut});
    EXPECT_FALSE(t.skip()) << cut;
    EXPECT_EQ(t.offset(), 0u);  // a failed read does not move
  }
}

TEST(MsgpackCursor, SkipWithABudget) {
  const std::string m = mp(json{{"a", {1, 2, 3}}});  // 1 map + 2 keys/values + 3 = 6 values
  msgpack_cursor c({m.data(), m.size()});
  uint64_t budget = 5;
  EXPECT_FALSE(c.skip(budget));
  EXPECT_EQ(c.offset(), 0u);
  EXPECT_EQ(budget, 5u);
  budget = 10;
  EXPECT_TRUE(c.skip(budget));
  EXPECT_EQ(budget, 4u);
  EXPECT_TRUE(c.at_end());
}

TEST(MsgpackCursor, RejectsHugeClaimsAndInvalidBytes) {
  // array32 claiming 2^32-1 elements with nothing after it.
  const char huge[] = {'\xdd', '\xff', '\xff', '\xff', '\xff'};
  msgpack_cursor c({huge, sizeof huge});
  EXPECT_FALSE(c.skip());
  uint32_t n;
  EXPECT_TRUE(c.read_array_header(n));  // the header itself is well-formed
  EXPECT_EQ(n, 0xffffffffu);
  const char never_used[] = {'\xc1'};
  msgpack_cursor d({never_used, 1});
  EXPECT_EQ(d.peek_kind(), msgpack_cursor::kind::invalid);
  EXPECT_FALSE(d.skip());
  const char str_too_long[] = {'\xd9', '\x10', 'a'};  // str8 of 16 bytes, 1 given
  msgpack_cursor e({str_too_long, sizeof str_too_long});
  std::string_view s;
  EXPECT_FALSE(e.read_str(s));
}

}  // namespace
}  // namespace rill
