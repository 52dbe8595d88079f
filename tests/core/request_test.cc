#include "core/request.h"

#include <gtest/gtest.h>

#include "core/reply.h"
#include "tests/core/msgpack_test_util.h"

namespace rill {
namespace {

using test::json;
using test::mp;

// Decodes a request from bytes kept alive by the fixture.
class RequestTest : public ::testing::Test {
 protected:
  errc decode(const std::string& bytes) {
    bytes_ = bytes;
    zone_.clear();
    return decode_request({bytes_.data(), bytes_.size()}, zone_, lim_, r_, message_);
  }
  errc decode(const json& j) { return decode(mp(j)); }
  // The echoed req as JSON (null when absent).
  json echoed() const {
    if (r_.req.empty()) return nullptr;
    return test::from_mp(r_.req);
  }

  limits lim_;
  std::string bytes_;
  msgpack::zone zone_;
  request r_;
  std::string message_;
};

TEST_F(RequestTest, DecodesAFullCommand) {
  ASSERT_EQ(decode(json{{"cmd", "CREATE_ORDER"},
                        {"agg", "order"},
                        {"id", "o-1"},
                        {"data", {{"amount", 12.5}, {"currency", "USD"}}},
                        {"expect", 0},
                        {"key", "k1"},
                        {"corr", "c1"},
                        {"req", {{"n", 7}}}}),
            errc::ok)
      << message_;
  EXPECT_EQ(r_.k, request::kind::command);
  const command_request& c = r_.command;
  EXPECT_EQ(c.cmd, "CREATE_ORDER");
  EXPECT_EQ(c.agg, "order");
  EXPECT_EQ(c.id, "o-1");
  EXPECT_TRUE(c.has_key);
  EXPECT_EQ(c.key, "k1");
  EXPECT_TRUE(c.has_corr);
  EXPECT_EQ(c.corr, "c1");
  EXPECT_TRUE(c.has_expect);
  EXPECT_EQ(c.expect, 0);
  ASSERT_NE(c.data, nullptr);
  EXPECT_EQ(c.data->type, msgpack::type::MAP);
  EXPECT_EQ(c.data->via.map.size, 2u);
  EXPECT_EQ(echoed(), (json{{"n", 7}}));
  ASSERT_NE(r_.root, nullptr);
}

// data_raw is the data value's bytes inside the request, for a command
// and (through decode_command with the request's bytes) a batch element.
TEST_F(RequestTest, DataRawIsTheDataValuesBytes) {
  const json data = {{"amount", 12.5}, {"currency", "USD"}, {"tags", {1, 2, {{"x", nullptr}}}}};
  const std::string data_bytes = mp(data);
  const json cmd = {{"cmd", "C"}, {"agg", "order"}, {"id", "o-1"}, {"data", data}, {"req", 1}};
  ASSERT_EQ(decode(cmd), errc::ok) << message_;
  EXPECT_EQ(std::string(r_.command.data_raw.data(), r_.command.data_raw.size()), data_bytes);
  EXPECT_GE(r_.command.data_raw.data(), bytes_.data());
  EXPECT_LE(r_.command.data_raw.data() + r_.command.data_raw.size(), bytes_.data() + bytes_.size());

  ASSERT_EQ(decode(json{{"batch", {cmd, json{{"cmd", "C"}, {"agg", "a"}, {"id", "i"}}}}}),
            errc::ok);
  command_request c;
  ASSERT_EQ(decode_command(r_.batch->via.array.ptr[0], lim_, c, message_, r_.bytes), errc::ok);
  EXPECT_EQ(std::string(c.data_raw.data(), c.data_raw.size()), data_bytes);
  ASSERT_EQ(decode_command(r_.batch->via.array.ptr[1], lim_, c, message_, r_.bytes), errc::ok);
  EXPECT_TRUE(c.data_raw.empty());  // no data
  // Without the bytes, or for an object another decoder made (msgpack-c
  // copies strings into its zone): no raw bytes, data alone.
  ASSERT_EQ(decode_command(r_.batch->via.array.ptr[0], lim_, c, message_), errc::ok);
  EXPECT_TRUE(c.data_raw.empty());
  const std::string copy = mp(cmd);
  msgpack::object_handle h = msgpack::unpack(copy.data(), copy.size());
  ASSERT_EQ(decode_command(h.get(), lim_, c, message_, r_.bytes), errc::ok);
  EXPECT_TRUE(c.data_raw.empty());
  ASSERT_NE(c.data, nullptr);
  // nil data: absent, no bytes.
  ASSERT_EQ(decode(json{{"cmd", "C"}, {"agg", "a"}, {"id", "i"}, {"data", nullptr}}), errc::ok);
  EXPECT_EQ(r_.command.data, nullptr);
  EXPECT_TRUE(r_.command.data_raw.empty());
}

TEST_F(RequestTest, OptionalFieldsMayBeAbsentOrNil) {
  ASSERT_EQ(decode(json{{"cmd", "X"}, {"agg", "a"}, {"id", "1"}}), errc::ok) << message_;
  EXPECT_EQ(r_.command.data, nullptr);
  EXPECT_FALSE(r_.command.has_key);
  EXPECT_FALSE(r_.command.has_corr);
  EXPECT_FALSE(r_.command.has_expect);
  EXPECT_TRUE(r_.req.empty());
  ASSERT_EQ(decode(json{{"cmd", "X"}, {"agg", "a"}, {"id", "1"}, {"data", nullptr},
                        {"key", nullptr}, {"corr", ""}, {"expect", nullptr}}),
            errc::ok)
      << message_;
  EXPECT_EQ(r_.command.data, nullptr);
  EXPECT_FALSE(r_.command.has_key);
  EXPECT_FALSE(r_.command.has_corr);
  EXPECT_FALSE(r_.command.has_expect);
}

TEST_F(RequestTest, NotMessagePackIsBadRequest) {
  EXPECT_EQ(decode(std::string()), errc::bad_request);
  EXPECT_EQ(decode(std::string("\xc1", 1)), errc::bad_request);
  EXPECT_EQ(decode(std::string("{\"cmd\": \"X\"}")), errc::bad_request);  // JSON text
  std::string m = mp(json{{"cmd", "X"}, {"agg", "a"}, {"id", "1"}});
  EXPECT_EQ(decode(m.substr(0, m.size() - 1)), errc::bad_request);  // truncated
  EXPECT_EQ(decode(m + m), errc::bad_request);                       // trailing bytes
  EXPECT_FALSE(message_.empty());
}

TEST_F(RequestTest, NotAMapIsBadRequest) {
  EXPECT_EQ(decode(json::array({"cmd", "X"})), errc::bad_request);
  EXPECT_EQ(decode(json("CREATE_CUSTOMER")), errc::bad_request);
  EXPECT_EQ(decode(json(42)), errc::bad_request);
  EXPECT_EQ(decode(json::object()), errc::bad_request);
}

TEST_F(RequestTest, MissingFieldsAreBadRequest) {
  const json full = {{"cmd", "X"}, {"agg", "a"}, {"id", "1"}, {"req", 5}};
  for (const char* f : {"cmd", "agg", "id"}) {
    json j = full;
    j.erase(f);
    EXPECT_EQ(decode(j), errc::bad_request) << f;
    EXPECT_NE(message_.find(f), std::string::npos) << message_;
    EXPECT_EQ(echoed(), json(5)) << f;
  }
}

TEST_F(RequestTest, WrongTypesAreBadRequest) {
  const json base = {{"cmd", "X"}, {"agg", "a"}, {"id", "1"}, {"req", "r"}};
  const std::vector<std::pair<const char*, json>> cases = {
      {"cmd", 1},          {"agg", true},       {"id", 12},           {"id", ""},
      {"id", std::string(129, 'x')},            {"cmd", ""},          {"data", json::array()},
      {"data", "x"},       {"expect", "1"},     {"expect", -1},       {"expect", 1.5},
      {"key", 5},          {"key", ""},         {"key", std::string(257, 'k')},
      {"corr", 5},         {"corr", std::string(257, 'c')},
  };
  for (const auto& [field, value] : cases) {
    json j = base;
    j[field] = value;
    EXPECT_EQ(decode(j), errc::bad_request) << field << "=" << value.dump();
    EXPECT_EQ(echoed(), json("r")) << field;
  }
  json ok = base;
  ok["id"] = std::string(128, 'x');
  ok["key"] = std::string(256, 'k');
  EXPECT_EQ(decode(ok), errc::ok) << message_;
  // An expect beyond int64 is said to be so (it said "must be an integer").
  json big = base;
  big["expect"] = uint64_t{9223372036854775808u};
  EXPECT_EQ(decode(big), errc::bad_request);
  EXPECT_EQ(message_, "field expect: must be at most 9223372036854775807");
}

TEST_F(RequestTest, UnknownAndDuplicateFieldsAreBadRequest) {
  EXPECT_EQ(decode(json{{"cmd", "X"}, {"agg", "a"}, {"id", "1"}, {"colour", "red"}, {"req", 1}}),
            errc::bad_request);
  EXPECT_NE(message_.find("colour"), std::string::npos);
  EXPECT_EQ(echoed(), json(1));
  EXPECT_EQ(decode(json{{"cmd", "X"}, {"agg", "a"}, {"id", "1"}, {"atomic", true}}),
            errc::bad_request);
  // {"cmd": "X", "cmd": "Y", "agg": "a", "id": "1"}
  std::string dup = "\x84\xa3" "cmd\xa1X\xa3" "cmd\xa1Y\xa3" "agg\xa1" "a\xa2id\xa1" "1";
  EXPECT_EQ(decode(dup), errc::bad_request);
  EXPECT_NE(message_.find("duplicate"), std::string::npos);
  // A non-string field name.
  std::string intkey = "\x84\x01\x02\xa3" "cmd\xa1X\xa3" "agg\xa1" "a\xa2id\xa1" "1";
  EXPECT_EQ(decode(intkey), errc::bad_request);
}

TEST_F(RequestTest, InvalidUtf8AnywhereIsBadRequest) {
  const std::string bad = "\xC3\x28";
  EXPECT_EQ(decode(json{{"cmd", "X"}, {"agg", "a"}, {"id", "1"}, {"data", {{"name", "ok"}}}}),
            errc::ok);
  // nlohmann refuses to build invalid UTF-8 into JSON, so patch the bytes:
  // a placeholder of the same length is replaced after encoding.
  auto patched = [&](const json& j) {
    std::string m = mp(j);
    const size_t at = m.find("@@");
    EXPECT_NE(at, std::string::npos);
    m.replace(at, 2, bad);
    return m;
  };
  EXPECT_EQ(decode(patched({{"cmd", "X@@"}, {"agg", "a"}, {"id", "1"}, {"req", 3}})),
            errc::bad_request);
  EXPECT_NE(message_.find("UTF-8"), std::string::npos) << message_;
  EXPECT_EQ(echoed(), json(3));  // req is still echoed
  EXPECT_EQ(decode(patched({{"cmd", "X"}, {"agg", "a"}, {"id", "@@"}})), errc::bad_request);
  EXPECT_EQ(decode(patched({{"cmd", "X"}, {"agg", "a"}, {"id", "1"},
                            {"data", {{"deep", {{"deeper", {"x", "y@@"}}}}}}})),
            errc::bad_request);
  EXPECT_EQ(decode(patched({{"cmd", "X"}, {"agg", "a"}, {"id", "1"}, {"data", {{"k@@", 1}}}})),
            errc::bad_request);
  EXPECT_EQ(decode(patched({{"cmd", "X"}, {"agg", "a"}, {"id", "1"}, {"key", "@@"}})),
            errc::bad_request);
}

TEST_F(RequestTest, TooDeepOrTooManyValuesIsBadRequest) {
  // Root map (1) -> data (2) -> 30 more levels = 32: allowed.
  auto nest = [](int levels) {
    json v = 1;
    for (int i = 0; i < levels; ++i) v = json::array({v});
    return v;
  };
  EXPECT_EQ(decode(json{{"cmd", "X"}, {"agg", "a"}, {"id", "1"}, {"data", {{"x", nest(30)}}}}),
            errc::ok)
      << message_;
  EXPECT_EQ(decode(json{{"cmd", "X"}, {"agg", "a"}, {"id", "1"}, {"data", {{"x", nest(31)}}},
                        {"req", 9}}),
            errc::bad_request);
  EXPECT_NE(message_.find("deep"), std::string::npos) << message_;
  EXPECT_EQ(echoed(), json(9));
  lim_.max_elements = 20;
  EXPECT_EQ(decode(json{{"cmd", "X"}, {"agg", "a"}, {"id", "1"},
                        {"data", {{"x", std::vector<int>(20, 1)}}}}),
            errc::bad_request);
  EXPECT_NE(message_.find("too many"), std::string::npos) << message_;
}

TEST_F(RequestTest, HugeContainerClaimsAreRejectedWithoutAllocating) {
  // {"cmd": [array32 of 2^32-1 elements...]} with nothing behind the header,
  // then 32 nested array32 headers each claiming a million elements.
  std::string m = "\x81\xa3" "cmd\xdd\xff\xff\xff\xff";
  EXPECT_EQ(decode(m), errc::bad_request);
  std::string nested = "\x81\xa3" "cmd";
  for (int i = 0; i < 32; ++i) nested += std::string("\xdd\x00\x10\x00\x00", 5);
  EXPECT_EQ(decode(nested), errc::bad_request);
}

TEST_F(RequestTest, TooLargeKeepsReq) {
  lim_.max_request_bytes = 100;
  const json j = {{"req", {{"id", 42}}}, {"cmd", "X"}, {"agg", "a"}, {"id", "1"},
                  {"data", {{"blob", std::string(200, 'z')}}}};
  EXPECT_EQ(decode(j), errc::too_large);
  EXPECT_EQ(echoed(), (json{{"id", 42}}));
  EXPECT_NE(message_.find("100"), std::string::npos) << message_;
  EXPECT_EQ(decode(std::string(101, '\xc1')), errc::too_large);  // garbage: no req
  EXPECT_TRUE(r_.req.empty());
}

TEST_F(RequestTest, TooLargeLooksForReqWithinABoundedEffort) {
  lim_.max_request_bytes = 1000;
  lim_.max_elements = 100;
  // `req` behind a field of 5000 values: not worth finding.
  std::string behind = "\x82\xa4" "blob" + mp(json(std::vector<int>(5000, 1))) + "\xa3" "req" + mp(json(1));
  EXPECT_EQ(decode(behind), errc::too_large);
  EXPECT_TRUE(r_.req.empty());
  // In front of it: echoed.
  std::string front = "\x82\xa3" "req" + mp(json(1)) + "\xa4" "blob" + mp(json(std::vector<int>(5000, 1)));
  EXPECT_EQ(decode(front), errc::too_large);
  EXPECT_EQ(echoed(), json(1));
}

TEST_F(RequestTest, Batches) {
  ASSERT_EQ(decode(json{{"batch", {{{"cmd", "A"}, {"agg", "a"}, {"id", "1"}},
                                   {{"cmd", "B"}, {"agg", "a"}, {"id", "2"}}}},
                        {"atomic", true},
                        {"req", "b1"}}),
            errc::ok)
      << message_;
  EXPECT_EQ(r_.k, request::kind::batch);
  EXPECT_TRUE(r_.atomic);
  ASSERT_NE(r_.batch, nullptr);
  ASSERT_EQ(r_.batch->via.array.size, 2u);
  command_request c;
  std::string msg;
  ASSERT_EQ(decode_command(r_.batch->via.array.ptr[1], lim_, c, msg), errc::ok) << msg;
  EXPECT_EQ(c.cmd, "B");
  EXPECT_EQ(c.id, "2");
  EXPECT_EQ(echoed(), json("b1"));

  ASSERT_EQ(decode(json{{"batch", json::array()}}), errc::ok);
  EXPECT_FALSE(r_.atomic);
  EXPECT_EQ(r_.batch->via.array.size, 0u);

  // Each element is decoded on its own: a bad one is that command's error.
  ASSERT_EQ(decode(json{{"batch", {42, {{"cmd", "A"}}}}}), errc::ok);
  EXPECT_EQ(decode_command(r_.batch->via.array.ptr[0], lim_, c, msg), errc::bad_request);
  EXPECT_EQ(decode_command(r_.batch->via.array.ptr[1], lim_, c, msg), errc::bad_request);
}

TEST_F(RequestTest, BadBatches) {
  EXPECT_EQ(decode(json{{"batch", {{"cmd", "A"}}}, {"req", 1}}), errc::bad_request);  // a map
  EXPECT_EQ(echoed(), json(1));
  EXPECT_EQ(decode(json{{"batch", json::array()}, {"atomic", "yes"}}), errc::bad_request);
  EXPECT_EQ(decode(json{{"batch", json::array()}, {"agg", "a"}}), errc::bad_request);
  EXPECT_EQ(decode(json{{"batch", json::array()}, {"cmd", "X"}}), errc::bad_request);
  lim_.max_batch = 3;
  json four = json::array();
  for (int i = 0; i < 4; ++i) four.push_back({{"cmd", "A"}, {"agg", "a"}, {"id", "1"}});
  EXPECT_EQ(decode(json{{"batch", four}, {"req", 2}}), errc::too_large);
  EXPECT_EQ(echoed(), json(2));
}

TEST_F(RequestTest, AdminRequests) {
  ASSERT_EQ(decode(json{{"op", "ping"}, {"req", 1}}), errc::ok);
  EXPECT_EQ(r_.k, request::kind::admin);
  EXPECT_EQ(r_.op, "ping");
  EXPECT_EQ(echoed(), json(1));
  ASSERT_EQ(decode(json{{"op", "status"}, {"verbose", true}}), errc::ok);  // op's own fields
  EXPECT_EQ(decode(json{{"op", 1}}), errc::bad_request);
  EXPECT_EQ(decode(json{{"op", ""}}), errc::bad_request);
  EXPECT_EQ(decode(json{{"op", "ping"}, {"cmd", "X"}}), errc::bad_request);
}

TEST_F(RequestTest, ErrorReplyEchoesReq) {
  ASSERT_EQ(decode(json{{"cmd", 5}, {"agg", "a"}, {"id", "1"}, {"req", {1, "two"}}}),
            errc::bad_request);
  out_buffer out;
  encode_error(out, errc::bad_request, message_, r_.req);
  const json reply = test::from_mp(out);
  EXPECT_EQ(reply["ok"], false);
  EXPECT_EQ(reply["error"], "bad_request");
  EXPECT_EQ(reply["req"], json::array({1, "two"}));
  EXPECT_FALSE(reply["message"].get<std::string>().empty());
}

}  // namespace
}  // namespace rill
