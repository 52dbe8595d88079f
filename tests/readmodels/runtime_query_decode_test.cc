// Decoding of query requests (readmodels/query_server_request.h).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "readmodels/query_server_request.h"

namespace rill::readmodels {
namespace {

using json = nlohmann::json;

// A `req` value's bytes as JSON.
json req_json(std::span<const char> b) {
  return json::from_msgpack(b.begin(), b.end(), true, false);
}

struct decoded {
  errc code;
  query_request rq;
  std::string message;
  msgpack::zone zone;
  std::string bytes;
};

std::unique_ptr<decoded> run(const std::string& bytes, query_decode_options opt = {}) {
  auto d = std::make_unique<decoded>();
  d->bytes = bytes;
  d->code = decode_query({d->bytes.data(), d->bytes.size()}, d->zone, opt, d->rq, d->message);
  return d;
}

std::string mp(const json& j) {
  const auto v = json::to_msgpack(j);
  return {v.begin(), v.end()};
}

// An argument given twice is bad_request (it was read as its first, and a
// mistyped second value went unnoticed; an outside probe).
TEST(QueryDecode, AnArgumentGivenTwiceIsBadRequest) {
  // {"q": "get", "args": {"id": "c1", "id": "c2"}, "req": 7}
  const std::string twice(
      "\x83\xa1q\xa3get\xa4"
      "args\x82\xa2id\xa2"
      "c1\xa2id\xa2"
      "c2\xa3req\x07",
      30);
  auto d = run(twice);
  EXPECT_EQ(d->code, errc::bad_request);
  EXPECT_NE(d->message.find("twice"), std::string::npos) << d->message;
  EXPECT_EQ(req_json(d->rq.req), 7);
}

TEST(QueryDecode, MinimalAndFull) {
  auto d = run(mp({{"q", "get"}}));
  ASSERT_EQ(d->code, errc::ok) << d->message;
  EXPECT_EQ(d->rq.q, "get");
  EXPECT_TRUE(d->rq.model.empty());
  ASSERT_NE(d->rq.args, nullptr);
  EXPECT_EQ(d->rq.args->type, msgpack::type::MAP);
  EXPECT_FALSE(d->rq.has_after);
  EXPECT_TRUE(d->rq.req.empty());

  d = run(mp({{"model", "customers"},
              {"q", "get"},
              {"args", {{"id", "c1"}}},
              {"after", 42},
              {"timeout_ms", 250},
              {"req", {1, 2}}}));
  ASSERT_EQ(d->code, errc::ok) << d->message;
  EXPECT_EQ(d->rq.model, "customers");
  EXPECT_EQ(d->rq.args->via.map.size, 1u);
  EXPECT_TRUE(d->rq.has_after);
  EXPECT_EQ(d->rq.after, 42u);
  EXPECT_EQ(d->rq.timeout_ms, 250u);
  ASSERT_FALSE(d->rq.req.empty());
  EXPECT_TRUE(req_json(d->rq.req).is_array());
}

TEST(QueryDecode, NilCountsAsAbsent) {
  auto d = run(mp({{"q", "get"}, {"args", nullptr}, {"after", nullptr}, {"model", nullptr}}));
  ASSERT_EQ(d->code, errc::ok) << d->message;
  EXPECT_FALSE(d->rq.has_after);
  EXPECT_EQ(d->rq.args->via.map.size, 0u);
}

TEST(QueryDecode, TimeoutDefaultsAndClamp) {
  query_decode_options o;
  o.default_timeout_ms = 700;
  o.max_timeout_ms = 5000;
  auto d = run(mp({{"q", "x"}, {"after", 1}}), o);
  EXPECT_EQ(d->rq.timeout_ms, 700u);
  d = run(mp({{"q", "x"}, {"after", 1}, {"timeout_ms", 999999}}), o);
  EXPECT_EQ(d->rq.timeout_ms, 5000u);
}

TEST(QueryDecode, BadRequests) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty"},
      {"\xc1", "not msgpack"},
      {mp({1, 2}), "not a map"},
      {mp("q"), "a string"},
      {mp(json::object()), "no q"},
      {mp({{"q", ""}}), "empty q"},
      {mp({{"q", 5}}), "q not a string"},
      {mp({{"q", "g"}, {"args", 5}}), "args not a map"},
      {mp({{"q", "g"}, {"args", {1, 2}}}), "args an array"},
      {mp({{"q", "g"}, {"after", -1}}), "negative after"},
      {mp({{"q", "g"}, {"after", "5"}}), "after a string"},
      {mp({{"q", "g"}, {"after", 1.5}}), "after a float"},
      {mp({{"q", "g"}, {"timeout_ms", -3}}), "negative timeout"},
      {mp({{"q", "g"}, {"model", 7}}), "model not a string"},
      {mp({{"q", "g"}, {"arg", json::object()}}), "unknown field"},
      {mp({{"q", "g"}}) + "\x01", "trailing bytes"},
      {std::string("\x81\x01\xa1q"), "non-string key"},
  };
  for (const auto& [bytes, what] : cases) {
    auto d = run(bytes);
    EXPECT_EQ(d->code, errc::bad_request) << what;
    EXPECT_FALSE(d->message.empty()) << what;
  }
}

TEST(QueryDecode, DuplicateFieldIsBadRequest) {
  // {"q": "a", "q": "b"} built by hand (json maps cannot hold duplicates).
  const std::string bytes = std::string(
      "\x82\xa1q\xa1"
      "a\xa1q\xa1"
      "b",
      9);
  auto d = run(bytes);
  EXPECT_EQ(d->code, errc::bad_request);
}

TEST(QueryDecode, TooLargeStillEchoesReq) {
  query_decode_options o;
  o.lim.max_request_bytes = 1024;
  auto d = run(mp({{"q", "g"}, {"req", 77}, {"args", {{"pad", std::string(2000, 'x')}}}}), o);
  EXPECT_EQ(d->code, errc::too_large);
  ASSERT_FALSE(d->rq.req.empty());
  EXPECT_EQ(req_json(d->rq.req), 77);
}

TEST(QueryDecode, ErrorsEchoReqWhenTheyCan) {
  auto d = run(mp({{"q", 5}, {"req", "abc"}}));
  EXPECT_EQ(d->code, errc::bad_request);
  ASSERT_FALSE(d->rq.req.empty());
  EXPECT_TRUE(req_json(d->rq.req).is_string());
}

TEST(QueryDecode, DeepNestingIsRejected) {
  json deep = 1;
  for (int i = 0; i < 100; ++i) deep = json::array({deep});
  auto d = run(mp({{"q", "g"}, {"args", {{"x", deep}}}}));
  EXPECT_EQ(d->code, errc::bad_request);
}

TEST(QueryDecode, ReplyEncoders) {
  out_buffer out;
  const std::string req("\x07", 1);
  begin_query_reply(out, 9, req);
  msgpack::packer<out_buffer> pk(out);
  pk.pack("value");
  auto j = json::from_msgpack(out.view());
  EXPECT_EQ(j, json({{"ok", true}, {"seq", 9}, {"req", 7}, {"result", "value"}}));
  out.clear();
  encode_query_error(out, errc::unknown_query, "no such query", {});
  j = json::from_msgpack(out.view());
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["error"], "unknown_query");
  EXPECT_EQ(j["message"], "no such query");
  EXPECT_FALSE(j.contains("req"));
}

}  // namespace
}  // namespace rill::readmodels
