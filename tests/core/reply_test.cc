#include "core/reply.h"

#include <gtest/gtest.h>

#include "tests/core/msgpack_test_util.h"

namespace rill {
namespace {

using test::json;

TEST(Reply, Ok) {
  const std::string req("\xa3r-1", 4);  // as a client encoded it
  out_buffer out;
  encode_ok(out, 10, 2, false, req);
  EXPECT_EQ(test::from_mp(out),
            (json{{"ok", true}, {"seq", 10}, {"ver", 2}, {"dup", false}, {"req", "r-1"}}));
  out.clear();
  encode_ok(out, 10, 2, true, {});
  EXPECT_EQ(test::from_mp(out), (json{{"ok", true}, {"seq", 10}, {"ver", 2}, {"dup", true}}));
}

TEST(Reply, Error) {
  const std::string req("\x07", 1);
  out_buffer out;
  encode_error(out, errc::version_conflict, "expected 1", req, 3);
  EXPECT_EQ(test::from_mp(out), (json{{"ok", false},
                                      {"error", "version_conflict"},
                                      {"message", "expected 1"},
                                      {"ver", 3},
                                      {"req", 7}}));
  out.clear();
  encode_error(out, errc::not_found, "gone", {});
  EXPECT_EQ(test::from_mp(out),
            (json{{"ok", false}, {"error", "not_found"}, {"message", "gone"}}));
  out.clear();
  encode_ack(out, req);
  EXPECT_EQ(test::from_mp(out), (json{{"ok", true}, {"req", 7}}));
}

TEST(Reply, Batch) {
  const std::string req(
      "\xa1"
      "b",
      2);
  out_buffer out;
  batch_reply_writer w(out);
  w.begin(3, req);
  w.add_ok(5, 1, false);
  w.add_error(errc::aborted, "another command failed");
  w.add_error(errc::version_conflict, "v", 4);
  w.finish();
  const json expected = {
      {"ok", true},
      {"results",
       {{{"ok", true}, {"seq", 5}, {"ver", 1}, {"dup", false}},
        {{"ok", false}, {"error", "aborted"}, {"message", "another command failed"}},
        {{"ok", false}, {"error", "version_conflict"}, {"message", "v"}, {"ver", 4}}}},
      {"req", "b"}};
  EXPECT_EQ(test::from_mp(out), expected);
  out.clear();
  w.begin(0, {});
  w.finish();
  EXPECT_EQ(test::from_mp(out), (json{{"ok", true}, {"results", json::array()}}));
}

// `req` comes back byte for byte: a float that is a whole number stays a
// float, a wide integer form and a str8 stay as they were sent (re-encoding
// a decoded value turned 1.0 into 1; an outside client's ids changed type).
TEST(Reply, ReqIsEchoedByteForByte) {
  for (const std::string& req : {std::string("\xcb\x3f\xf0\0\0\0\0\0\0", 9),  // 1.0
                                 std::string("\xcb\x80\0\0\0\0\0\0\0", 9),    // -0.0
                                 std::string("\xca\x3f\xc0\0\0", 5),          // 1.5f
                                 std::string("\xce\0\0\0\x01", 5),            // u32 1
                                 std::string("\xd9\x01"
                                             "a",
                                             3),  // str8
                                 std::string("\x81\xa1"
                                             "a\xcb\x40\x08\0\0\0\0\0\0",
                                             12)}) {
    out_buffer out;
    encode_ack(out, req);
    const std::string bytes(out.data(), out.size());
    EXPECT_EQ(bytes, std::string("\x82\xa2ok\xc3\xa3req", 9) + req);
  }
}

TEST(Reply, EveryErrorCodeHasItsProtocolName) {
  for (int i = 1; i < static_cast<int>(errc::count_); ++i) {
    const std::string_view name = to_string(static_cast<errc>(i));
    EXPECT_NE(name, "internal") << i;
    EXPECT_NE(name, "ok") << i;
  }
}

}  // namespace
}  // namespace rill
