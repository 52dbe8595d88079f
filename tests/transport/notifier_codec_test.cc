// The change-notification codec: requests, reports, notes and replies, and
// the errors malformed input gets.
#include "transport/notifier_codec.h"
#include "core/utf8.h"
#include "transport/notifier_protocol.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rill::transport::notify {
namespace {

using json = nlohmann::json;

std::string pack(const json& j) {
  auto v = json::to_msgpack(j);
  return std::string(v.begin(), v.end());
}

std::span<const char> bytes(const std::string& s) {
  return {s.data(), s.size()};
}

errc decode(const std::string& b, request& r, std::string& msg) {
  limits lim;
  return decode_request(bytes(b), lim, r, msg);
}

errc decode_json(const json& j, request& r) {
  static std::string keep;  // the views in r point into it
  keep = pack(j);
  std::string msg;
  return decode(keep, r, msg);
}

TEST(notifier_codec, WatchWithKeyWithoutKeyAndNilKey) {
  request r;
  ASSERT_EQ(decode_json({{"op", "watch"}, {"model", "customers"}, {"key", "c-1"}}, r), errc::ok);
  EXPECT_EQ(r.kind, op::watch);
  EXPECT_EQ(r.model, "customers");
  EXPECT_EQ(r.key, std::optional<std::string_view>("c-1"));
  EXPECT_TRUE(r.req.empty());
  ASSERT_EQ(decode_json({{"op", "unwatch"}, {"model", "customers"}}, r), errc::ok);
  EXPECT_EQ(r.kind, op::unwatch);
  EXPECT_FALSE(r.key.has_value());
  ASSERT_EQ(decode_json({{"op", "watch"}, {"model", "m"}, {"key", nullptr}}, r), errc::ok);
  EXPECT_FALSE(r.key.has_value());
  ASSERT_EQ(decode_json({{"op", "ping"}}, r), errc::ok);
  EXPECT_EQ(r.kind, op::ping);
  ASSERT_EQ(decode_json({{"op", "status"}}, r), errc::ok);
  EXPECT_EQ(r.kind, op::status);
}

TEST(notifier_codec, ReqIsKeptAsRawMessagePackWhateverItIs) {
  request r;
  const json req = {{"a", {1, 2, "x"}}};
  ASSERT_EQ(decode_json({{"op", "ping"}, {"req", req}}, r), errc::ok);
  std::vector<uint8_t> raw(r.req.begin(), r.req.end());
  EXPECT_EQ(json::from_msgpack(raw), req);
}

TEST(notifier_codec, MalformedRequestsAreBadRequest) {
  const json cases[] = {
      json::array({"op", "watch"}),
      json{{"model", "m"}},
      json{{"op", "launch"}},
      json{{"op", 7}},
      json{{"op", "watch"}},
      json{{"op", "watch"}, {"model", ""}},
      json{{"op", "watch"}, {"model", 3}},
      json{{"op", "watch"}, {"model", "m"}, {"key", 3}},
      json{{"op", "watch"}, {"model", "m"}, {"key", ""}},
      json{{"op", "watch"}, {"model", "m"}, {"key", std::string(kMaxKeyLen + 1, 'k')}},
      json{{"op", "watch"}, {"model", std::string(kMaxModelLen + 1, 'm')}},
      json{{"op", "watch"}, {"model", "m"}, {"kye", "typo"}},
      json("watch"),
  };
  for (const auto& c : cases) {
    request r;
    EXPECT_EQ(decode_json(c, r), errc::bad_request) << c.dump();
  }
}

TEST(notifier_codec, ModelWithNulDuplicateFieldsAndGarbageAreRejected) {
  request r;
  std::string msg;
  EXPECT_EQ(decode_json({{"op", "watch"}, {"model", std::string("a\0b", 3)}}, r),
            errc::bad_request);
  // {"op":"ping","op":"ping"}
  const std::string dup = "\x82\xa2op\xa4ping\xa2op\xa4ping";
  EXPECT_EQ(decode(dup, r, msg), errc::bad_request);
  EXPECT_NE(msg.find("duplicate"), std::string::npos);
  EXPECT_EQ(decode("", r, msg), errc::bad_request);
  EXPECT_EQ(decode("\xc1", r, msg), errc::bad_request);
  EXPECT_EQ(decode("\x81\xa2op", r, msg), errc::bad_request);              // truncated
  EXPECT_EQ(decode("\xdf\xff\xff\xff\xff", r, msg), errc::bad_request);    // claims 4G pairs
  EXPECT_EQ(decode("\x81\xa2op\xa2\xff\xfe", r, msg), errc::bad_request);  // bad UTF-8
  EXPECT_EQ(decode(std::string(100'000, '\x91') + "\x01", r, msg), errc::bad_request);  // deep
  EXPECT_EQ(decode(pack({{"op", "ping"}}) + "x", r, msg), errc::bad_request);           // trailing
}

TEST(notifier_codec, ReqIsFoundEvenWhenAnEarlierFieldIsBad) {
  request r;
  // nlohmann orders keys: "model" fails before "req" is reached.
  EXPECT_EQ(decode_json({{"op", "watch"}, {"model", 5}, {"req", "x"}}, r), errc::bad_request);
  std::vector<uint8_t> raw(r.req.begin(), r.req.end());
  ASSERT_FALSE(raw.empty());
  EXPECT_EQ(json::from_msgpack(raw), "x");
  EXPECT_EQ(decode_json({{"op", "watch"}, {"model", ""}, {"unknown", 1}, {"req", 4}}, r),
            errc::bad_request);
  EXPECT_FALSE(r.req.empty());
}

// Found by fuzz_notify_codec: quoting the first 64 bytes of a long field
// name or op split a multi-byte character, so the error reply carried a
// string that is not UTF-8.
TEST(notifier_codec, QuotedNamesAreCutAtACharacterBoundary) {
  const std::string long_name = std::string(63, 'x') + "\xc3\xa9";  // 'é' straddles byte 64
  request r;
  std::string msg;
  EXPECT_EQ(decode(pack({{"op", "ping"}, {long_name, 1}}), r, msg), errc::bad_request);
  EXPECT_TRUE(valid_utf8(msg)) << msg;
  EXPECT_EQ(msg, "unknown field '" + std::string(63, 'x') + "'");
  EXPECT_EQ(decode(pack({{"op", long_name}}), r, msg), errc::bad_request);
  EXPECT_TRUE(valid_utf8(msg)) << msg;
  server_message m;
  EXPECT_EQ(decode_server_message(bytes(pack({{"ok", true}, {"expiry_ms", "x"}})), m, msg),
            errc::bad_request);
  EXPECT_EQ(msg, "field 'expiry_ms' mistyped");
}

TEST(notifier_codec, OversizedRequestIsTooLarge) {
  request r;
  std::string msg;
  limits lim;
  lim.max_request_bytes = 100;
  const std::string b = pack({{"op", "watch"}, {"model", std::string(200, 'm')}});
  EXPECT_EQ(decode_request(bytes(b), lim, r, msg), errc::too_large);
  EXPECT_TRUE(r.req.empty());
  // Its `req` still comes back, after any other field, when it is small.
  const std::string with_req =
      pack({{"op", "ping"}, {"pad", std::string(200, 'p')}, {"req", {{"n", 7}}}});
  EXPECT_EQ(decode_request(bytes(with_req), lim, r, msg), errc::too_large);
  ASSERT_FALSE(r.req.empty());
  EXPECT_EQ(json::from_msgpack(std::string(r.req.data(), r.req.size())), json({{"n", 7}}));
  // A req that is itself too large, or malformed, is not echoed.
  const std::string big_req = pack({{"op", "ping"}, {"req", std::string(200, 'r')}});
  EXPECT_EQ(decode_request(bytes(big_req), lim, r, msg), errc::too_large);
  EXPECT_TRUE(r.req.empty());
}

TEST(notifier_codec, Reports) {
  change_report rep;
  std::string msg;
  limits lim;
  std::string b = pack({{"model", "orders"}, {"keys", {"o1", "o2"}}, {"seq", 12}, {"all", false}});
  ASSERT_EQ(decode_report(bytes(b), lim, 10, rep, msg), errc::ok) << msg;
  EXPECT_EQ(rep.model, "orders");
  EXPECT_EQ(rep.keys, (std::vector<std::string_view>{"o1", "o2"}));
  EXPECT_EQ(rep.seq, 12u);
  EXPECT_FALSE(rep.whole);

  b = pack({{"model", "orders"}, {"keys", json::array()}, {"seq", 13}});
  ASSERT_EQ(decode_report(bytes(b), lim, 10, rep, msg), errc::ok);
  EXPECT_TRUE(rep.whole);
  EXPECT_TRUE(rep.keys.empty());

  b = pack({{"model", "orders"}, {"keys", {"a", "b", "c"}}, {"seq", 14}});
  ASSERT_EQ(decode_report(bytes(b), lim, 2, rep, msg), errc::ok);
  EXPECT_TRUE(rep.whole) << "more keys than max_keys is a whole-model change";

  // Each key's own seq, in the order of `keys`; dropped with a fold.
  b = pack({{"model", "orders"}, {"keys", {"o1", "o2"}}, {"seq", 20}, {"seqs", {17, 20}}});
  ASSERT_EQ(decode_report(bytes(b), lim, 10, rep, msg), errc::ok) << msg;
  EXPECT_EQ(rep.seqs, (std::vector<uint64_t>{17, 20}));
  EXPECT_EQ(rep.seq, 20u);
  b = pack({{"model", "orders"}, {"keys", {"a", "b", "c"}}, {"seq", 14}, {"seqs", {1, 2, 3}}});
  ASSERT_EQ(decode_report(bytes(b), lim, 2, rep, msg), errc::ok);
  EXPECT_TRUE(rep.whole);
  EXPECT_TRUE(rep.seqs.empty());
  out_buffer enc;
  const std::string_view ks[] = {"o1", "o2"};
  const uint64_t ss[] = {5, 9};
  encode_report(enc, "orders", ks, 9, ss);
  ASSERT_EQ(decode_report(enc.span(), lim, 10, rep, msg), errc::ok) << msg;
  EXPECT_EQ(rep.keys, (std::vector<std::string_view>{"o1", "o2"}));
  EXPECT_EQ(rep.seqs, (std::vector<uint64_t>{5, 9}));

  const json bad[] = {
      json{{"keys", {"a"}}, {"seq", 1}},
      json{{"model", "m"}, {"seq", 1}},
      json{{"model", "m"}, {"keys", {"a"}}},
      json{{"model", "m"}, {"keys", {1}}, {"seq", 1}},
      json{{"model", "m"}, {"keys", "a"}, {"seq", 1}},
      json{{"model", "m"}, {"keys", {"a"}}, {"seq", -1}},
      json{{"model", ""}, {"keys", {"a"}}, {"seq", 1}},
      json{{"model", "m"}, {"keys", {"a", "b"}}, {"seq", 5}, {"seqs", {5}}},
      json{{"model", "m"}, {"keys", {"a"}}, {"seq", 5}, {"seqs", {6}}},
      json{{"model", "m"}, {"keys", {"a"}}, {"seq", 5}, {"seqs", {"5"}}},
      json{{"model", "m"}, {"keys", {"a"}}, {"seq", 5}, {"seqs", 5}},
  };
  for (const auto& j : bad) {
    b = pack(j);
    EXPECT_EQ(decode_report(bytes(b), lim, 10, rep, msg), errc::bad_request) << j.dump();
  }
}

TEST(notifier_codec, NoteRoundTrip) {
  out_buffer out;
  encode_note(out, "customers", "c-9", 77);
  server_message m;
  std::string msg;
  ASSERT_EQ(decode_server_message(out.span(), m, msg), errc::ok);
  EXPECT_TRUE(m.is_note);
  EXPECT_EQ(m.model, "customers");
  EXPECT_EQ(m.key, std::optional<std::string_view>("c-9"));
  EXPECT_EQ(m.seq, 77u);
  std::vector<uint8_t> raw(out.data(), out.data() + out.size());
  EXPECT_EQ(json::from_msgpack(raw),
            (json{{"note", "changed"}, {"model", "customers"}, {"key", "c-9"}, {"seq", 77}}));

  out.clear();
  encode_note(out, "customers", std::nullopt, 78);
  ASSERT_EQ(decode_server_message(out.span(), m, msg), errc::ok);
  EXPECT_FALSE(m.key.has_value());
  raw.assign(out.data(), out.data() + out.size());
  EXPECT_TRUE(json::from_msgpack(raw)["key"].is_null());
}

TEST(notifier_codec, RepliesRoundTrip) {
  out_buffer out;
  const std::string req = pack(5);
  encode_ok_reply(out, "ping", false, {{"watches", uint64_t{3}}, {"expiry_ms", uint64_t{900}}},
                  bytes(req));
  server_message m;
  std::string msg;
  ASSERT_EQ(decode_server_message(out.span(), m, msg), errc::ok);
  EXPECT_FALSE(m.is_note);
  EXPECT_TRUE(m.ok);
  EXPECT_EQ(m.op_name, "ping");
  EXPECT_EQ(m.known, std::optional<bool>(false));
  EXPECT_EQ(m.expiry_ms, std::optional<uint64_t>(900));
  EXPECT_EQ(m.req, std::optional<uint64_t>(5));

  out.clear();
  encode_error_reply(out, errc::overloaded, "too many", true, 700, {});
  ASSERT_EQ(decode_server_message(out.span(), m, msg), errc::ok);
  EXPECT_FALSE(m.ok);
  EXPECT_EQ(m.expiry_ms, std::optional<uint64_t>(700)) << "every reply carries expiry_ms";
  EXPECT_EQ(m.error, errc::overloaded);
  EXPECT_EQ(m.message, "too many");
  EXPECT_FALSE(m.req.has_value());
  std::vector<uint8_t> raw(out.data(), out.data() + out.size());
  EXPECT_EQ(json::from_msgpack(raw)["error"], "overloaded");
}

TEST(notifier_codec, RequestEncoderMatchesDecoder) {
  out_buffer out;
  encode_request(out, op::watch, "m", "k", 9);
  request r;
  limits lim;
  std::string msg;
  ASSERT_EQ(decode_request(out.span(), lim, r, msg), errc::ok) << msg;
  EXPECT_EQ(r.kind, op::watch);
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.key, std::optional<std::string_view>("k"));
  std::vector<uint8_t> raw(r.req.begin(), r.req.end());
  EXPECT_EQ(json::from_msgpack(raw), 9);
}

TEST(notifier_codec, ErrorNamesRoundTrip) {
  for (uint8_t i = 0; i < static_cast<uint8_t>(errc::count_); ++i)
    EXPECT_EQ(errc_from_string(rill::to_string(static_cast<errc>(i))), static_cast<errc>(i));
  EXPECT_EQ(errc_from_string("no_such_code"), errc::count_);
}

}  // namespace
}  // namespace rill::transport::notify
