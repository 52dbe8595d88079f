// Decoding of replay endpoint requests (transport/replay_request.h), as
// replay_server answers them.
#include "transport/replay_request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rill::transport {
namespace {

using json = nlohmann::json;

// A `req` value's bytes as JSON.
json req_json(std::span<const char> b) {
  return json::from_msgpack(b.begin(), b.end(), true, false);
}

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
  ASSERT_FALSE(d.r.req.empty());
  EXPECT_EQ(req_json(d.r.req), 3);
}

// A field given twice is bad_request, req echoed (it was served by the
// first; an outside probe).
TEST(ReplayRequest, AFieldGivenTwiceIsBadRequest) {
  // {"from": 1, "from": 2, "req": 4}
  const std::string twice(
      "\x83\xa4"
      "from\x01\xa4"
      "from\x02\xa3req\x04",
      18);
  auto d = decode_bytes(twice, 64 << 10, 100);
  EXPECT_EQ(d.code, errc::bad_request);
  EXPECT_NE(d.message.find("twice"), std::string::npos) << d.message;
  EXPECT_EQ(req_json(d.r.req), 4);
}

TEST(ReplayRequest, FromZeroIsOneAndMaxDefaultsAndClamps) {
  auto d = decode({{"from", 0}});
  ASSERT_EQ(d.code, errc::ok);
  EXPECT_EQ(d.r.from, 1u);
  EXPECT_EQ(d.r.max, 100u);
  EXPECT_TRUE(d.r.req.empty());
  EXPECT_EQ(decode({{"from", 1}, {"max", 0}}).r.max, 0u) << "at most 0: none, only head";
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
  EXPECT_FALSE(d.r.req.empty());
}

TEST(ReplayRequest, Errors) {
  auto d = decode({{"op", "pong"}, {"req", 1}});
  EXPECT_EQ(d.code, errc::bad_request);
  EXPECT_EQ(d.message, "unknown op (replay knows ping)");
  EXPECT_FALSE(d.r.req.empty());  // echoed in the error reply
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
  EXPECT_TRUE(junk.message.starts_with("not MessagePack")) << junk.message;
  EXPECT_TRUE(junk.r.req.empty());
  auto big = decode_bytes(std::string(65, '\x90'), 64);
  EXPECT_EQ(big.code, errc::too_large);
}

// Requests are held to the command endpoint's checks and limits, not to
// smaller ones of their own: a long req, many fields, deep nesting in req
// are fine; errors still echo req.
TEST(ReplayRequest, LargeValidRequestsAreAcceptedAndErrorsEchoReq) {
  json many = {{"from", 48}, {"max", 1}, {"req", std::string(5000, 'r')}};
  for (int i = 0; i < 100; ++i) many["pad" + std::to_string(i)] = i;
  json nested = 1;
  for (int i = 0; i < 8; ++i) nested = json::array({nested});
  many["req"] = nested;
  auto d = decode_bytes(
      [&] {
        auto v = json::to_msgpack(many);
        return std::string(v.begin(), v.end());
      }(),
      1 << 20);
  ASSERT_EQ(d.code, errc::ok) << d.message;
  EXPECT_EQ(d.r.from, 48u);
  ASSERT_FALSE(d.r.req.empty());
  EXPECT_TRUE(req_json(d.r.req).is_array());

  json big = {{"from", 1}, {"req", "big"}, {"pad", std::string(2000, 'z')}};
  auto v = json::to_msgpack(big);
  auto tl = decode_bytes(std::string(v.begin(), v.end()), 1000);
  EXPECT_EQ(tl.code, errc::too_large);
  ASSERT_FALSE(tl.r.req.empty()) << "too_large echoes req";
  EXPECT_EQ(req_json(tl.r.req), "big");

  // Invalid UTF-8 elsewhere in the request: bad_request, req still echoed.
  json bad = {{"from", 1}, {"pad", "x"}, {"req", 5}};
  v = json::to_msgpack(bad);
  std::string s(v.begin(), v.end());
  const auto pos = s.find("\xa1x");
  ASSERT_NE(pos, std::string::npos);
  s[pos + 1] = '\xff';
  auto bu = decode_bytes(s, 1 << 20);
  EXPECT_EQ(bu.code, errc::bad_request);
  ASSERT_FALSE(bu.r.req.empty());
  EXPECT_EQ(req_json(bu.r.req), 5);
}

}  // namespace
}  // namespace rill::transport
