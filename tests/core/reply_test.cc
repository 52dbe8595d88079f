#include "core/reply.h"

#include <gtest/gtest.h>

#include "tests/core/msgpack_test_util.h"

namespace rill {
namespace {

using test::json;

TEST(Reply, Ok) {
  msgpack::zone zone;
  msgpack::object req("r-1", zone);
  out_buffer out;
  encode_ok(out, 10, 2, false, &req);
  EXPECT_EQ(test::from_mp(out),
            (json{{"ok", true}, {"seq", 10}, {"ver", 2}, {"dup", false}, {"req", "r-1"}}));
  out.clear();
  encode_ok(out, 10, 2, true, nullptr);
  EXPECT_EQ(test::from_mp(out), (json{{"ok", true}, {"seq", 10}, {"ver", 2}, {"dup", true}}));
}

TEST(Reply, Error) {
  msgpack::zone zone;
  msgpack::object req(7, zone);
  out_buffer out;
  encode_error(out, errc::version_conflict, "expected 1", &req, 3);
  EXPECT_EQ(test::from_mp(out), (json{{"ok", false},
                                      {"error", "version_conflict"},
                                      {"message", "expected 1"},
                                      {"ver", 3},
                                      {"req", 7}}));
  out.clear();
  encode_error(out, errc::not_found, "gone", nullptr);
  EXPECT_EQ(test::from_mp(out),
            (json{{"ok", false}, {"error", "not_found"}, {"message", "gone"}}));
  out.clear();
  encode_ack(out, &req);
  EXPECT_EQ(test::from_mp(out), (json{{"ok", true}, {"req", 7}}));
}

TEST(Reply, Batch) {
  msgpack::zone zone;
  msgpack::object req("b", zone);
  out_buffer out;
  batch_reply_writer w(out);
  w.begin(3, &req);
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
  w.begin(0, nullptr);
  w.finish();
  EXPECT_EQ(test::from_mp(out), (json{{"ok", true}, {"results", json::array()}}));
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
