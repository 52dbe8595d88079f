// Decoding of replay endpoint requests (transport/replay_request.h), as
// replay_server answers them.
#include "transport/replay_request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rill::transport {
namespace {

using json = nlohmann::json;

struct decoded {
  errc code = errc::ok;
  replay_request r;
  std::string message;
  msgpack::object_handle oh;
  std::string bytes;
};

decoded decode_bytes(std::string bytes, size_t max_request_bytes = 64 << 10,
                     uint64_t max_events = 100) {
  decoded d;
  d.bytes = std::move(bytes);
  d.code = decode_replay_request({d.bytes.data(), d.bytes.size()}, max_request_bytes, max_events,
                                 d.oh, d.r, d.message);
  return d;
}

decoded decode(const json& j, uint64_t max_events = 100) {
  const auto v = json::to_msgpack(j);
  return decode_bytes(std::string(v.begin(), v.end()), 64 << 10, max_events);
}

TEST(ReplayRequest, Range) {
  auto d = decode({{"from", 5}, {"max", 10}, {"req", 3}});
  ASSERT_EQ(d.code, errc::ok) << d.message;
  EXPECT_EQ(d.r.k, replay_request::kind::range);
  EXPECT_EQ(d.r.from, 5u);
  EXPECT_EQ(d.r.max, 10u);
  ASSERT_NE(d.r.req, nullptr);
  EXPECT_EQ(d.r.req->via.u64, 3u);
}

TEST(ReplayRequest, FromZeroIsOneAndMaxDefaultsAndClamps) {
  auto d = decode({{"from", 0}});
  ASSERT_EQ(d.code, errc::ok);
  EXPECT_EQ(d.r.from, 1u);
  EXPECT_EQ(d.r.max, 100u);
  EXPECT_EQ(d.r.req, nullptr);
  EXPECT_EQ(decode({{"from", 1}, {"max", 0}}).r.max, 100u);
  EXPECT_EQ(decode({{"from", 1}, {"max", nullptr}}).r.max, 100u);
  EXPECT_EQ(decode({{"from", 1}, {"max", 1000000}}).r.max, 100u);
}

TEST(ReplayRequest, Aggregate) {
  auto d = decode({{"agg", "order"}, {"id", "o1"}, {"from_ver", 2}, {"max", 3}});
  ASSERT_EQ(d.code, errc::ok) << d.message;
  EXPECT_EQ(d.r.k, replay_request::kind::aggregate);
  EXPECT_EQ(d.r.agg, "order");
  EXPECT_EQ(d.r.id, "o1");
  EXPECT_EQ(d.r.from_ver, 2u);
  EXPECT_EQ(d.r.max, 3u);
  EXPECT_EQ(decode({{"agg", "order"}, {"id", "o1"}}).r.from_ver, 1u);
}

TEST(ReplayRequest, Ping) {
  auto d = decode({{"op", "ping"}, {"req", "x"}});
  ASSERT_EQ(d.code, errc::ok);
  EXPECT_EQ(d.r.k, replay_request::kind::ping);
  EXPECT_NE(d.r.req, nullptr);
}

TEST(ReplayRequest, Errors) {
  auto d = decode({{"op", "pong"}, {"req", 1}});
  EXPECT_EQ(d.code, errc::bad_request);
  EXPECT_EQ(d.message, "unknown op (replay knows ping)");
  EXPECT_NE(d.r.req, nullptr);  // echoed in the error reply
  EXPECT_EQ(decode({{"agg", "order"}}).code, errc::bad_request);
  EXPECT_EQ(decode({{"agg", "order"}, {"id", 1}}).code, errc::bad_request);
  EXPECT_EQ(decode({{"agg", "o"}, {"id", "1"}, {"from_ver", "2"}}).code, errc::bad_request);
  EXPECT_EQ(decode({{"from", "1"}}).code, errc::bad_request);
  EXPECT_EQ(decode({{"from", -1}}).code, errc::bad_request);
  EXPECT_EQ(decode({{"from", 1}, {"max", -1}}).code, errc::bad_request);  // a bad max
  EXPECT_EQ(decode(json::object()).code, errc::bad_request);
  auto arr = decode(json::array({1}));
  EXPECT_EQ(arr.code, errc::bad_request);
  EXPECT_EQ(arr.message, "a replay request is a map");
  auto junk = decode_bytes("\xc1");
  EXPECT_EQ(junk.code, errc::bad_request);
  EXPECT_EQ(junk.message, "not MessagePack");
  EXPECT_EQ(junk.r.req, nullptr);
  auto big = decode_bytes(std::string(65, '\x90'), 64);
  EXPECT_EQ(big.code, errc::too_large);
}

}  // namespace
}  // namespace rill::transport
