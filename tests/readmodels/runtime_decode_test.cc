// The projector's event decoder: the canonical fast path gives exactly what
// decode_event() gives, and everything else falls back to it; the kind peek
// reads rill's layout only.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>

#include "readmodels/projector_decode.h"

namespace rill::readmodels {
namespace {

using json = nlohmann::json;

std::string encode(const json& data, std::string key = "", std::string corr = "") {
  msgpack::zone z;
  const auto bytes = json::to_msgpack(data);
  std::size_t off = 0;
  msgpack::object d =
      msgpack::unpack(z, reinterpret_cast<const char*>(bytes.data()), bytes.size(), off);
  event_view e;
  e.seq = 12;
  e.ts = 345;
  e.type = "ORDER_CREATED";
  e.agg = "order";
  e.id = "o-1";
  e.ver = 1;
  e.data = &d;
  e.key = key;
  e.corr = corr;
  out_buffer out;
  encode_event(out, e);
  return std::string(out.view());
}

json to_json(const msgpack::object& o) {
  msgpack::sbuffer sb;
  msgpack::pack(sb, o);
  return json::from_msgpack(sb.data(), sb.data() + sb.size());
}

void expect_same(const std::string& body) {
  msgpack::zone z1, z2;
  event_view fast, slow;
  std::string why;
  ASSERT_TRUE(decode_canonical_event({body.data(), body.size()}, z1, fast));
  ASSERT_EQ(decode_event({body.data(), body.size()}, z2, slow, &why), errc::ok) << why;
  EXPECT_EQ(fast.seq, slow.seq);
  EXPECT_EQ(fast.ts, slow.ts);
  EXPECT_EQ(fast.ver, slow.ver);
  EXPECT_EQ(fast.type, slow.type);
  EXPECT_EQ(fast.agg, slow.agg);
  EXPECT_EQ(fast.id, slow.id);
  EXPECT_EQ(fast.key, slow.key);
  EXPECT_EQ(fast.corr, slow.corr);
  ASSERT_NE(fast.data, nullptr);
  EXPECT_EQ(to_json(*fast.data), to_json(*slow.data));
}

TEST(ProjectorDecode, CanonicalEventsMatchDecodeEvent) {
  expect_same(encode(json::object()));
  expect_same(encode({{"customer_id", "c1"}, {"amount", 12.5}, {"currency", "USD"}}));
  expect_same(encode({{"n", -5},
                      {"big", 1ull << 40},
                      {"neg", -(1ll << 40)},
                      {"t", true},
                      {"f", false},
                      {"z", nullptr},
                      {"list", {1, "two", 3.0, {{"x", {1, 2}}}}}},
                     "idem-1", "corr-9"));
  expect_same(encode({{"s", std::string(70000, 'x')}}));
}

TEST(ProjectorDecode, BinAndExtTakeTheCheckedPath) {
  for (const json& v : {json::binary({1, 2, 3}), json::binary({9, 8}, 5)}) {
    const std::string body = encode({{"v", v}});
    msgpack::zone z;
    event_view fast;
    EXPECT_FALSE(decode_canonical_event({body.data(), body.size()}, z, fast));
    event_decoder d;
    std::string why;
    event_view slow;
    ASSERT_EQ(d.decode({body.data(), body.size()}, slow, why), errc::ok) << why;
    EXPECT_EQ(to_json(*slow.data)["v"], v);
  }
}

TEST(ProjectorDecode, RandomDataMatches) {
  std::mt19937 rng(7);
  std::function<json(int)> gen = [&](int depth) -> json {
    switch (rng() % (depth > 3 ? 5 : 7)) {
      case 0:
        return static_cast<int64_t>(rng()) - (1ll << 31);
      case 1:
        return std::string(rng() % 40, 'a' + rng() % 26);
      case 2:
        return (rng() % 1000) / 7.0;
      case 3:
        return rng() % 2 == 0;
      case 4:
        return nullptr;
      case 5: {
        json a = json::array();
        for (unsigned i = 0; i < rng() % 5; ++i) a.push_back(gen(depth + 1));
        return a;
      }
      default: {
        json m = json::object();
        for (unsigned i = 0; i < rng() % 5; ++i) m["k" + std::to_string(i)] = gen(depth + 1);
        return m;
      }
    }
  };
  for (int i = 0; i < 500; ++i) {
    json data = json::object();
    for (unsigned k = 0; k < rng() % 6; ++k) data["f" + std::to_string(k)] = gen(0);
    expect_same(encode(data, i % 3 ? "" : "key", i % 5 ? "" : "corr"));
  }
}

TEST(ProjectorDecode, OtherLayoutsFallBackToTheCheckedDecoder) {
  // Another field order: not canonical, but a valid event.
  const auto body = json::to_msgpack({{"agg", "a"},
                                      {"data", json::object()},
                                      {"id", "i"},
                                      {"seq", 3},
                                      {"ts", 4},
                                      {"type", "T"},
                                      {"ver", 1}});
  const std::string s(body.begin(), body.end());
  msgpack::zone z;
  event_view v;
  EXPECT_FALSE(decode_canonical_event({s.data(), s.size()}, z, v));
  event_decoder d;
  std::string why;
  ASSERT_EQ(d.decode({s.data(), s.size()}, v, why), errc::ok) << why;
  EXPECT_EQ(v.seq, 3u);
  EXPECT_EQ(v.type, "T");
}

TEST(ProjectorDecode, GarbageIsRejectedNeverTrusted) {
  event_decoder d;
  event_view v;
  std::string why;
  const std::string good = encode({{"x", {1, 2, 3}}}, "k");
  // Every truncation and a bogus huge container count.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_NE(d.decode({good.data(), n}, v, why), errc::ok) << n;
  }
  std::string huge = encode(json::object());
  const auto at = huge.find(
      "\xa4"
      "data");
  ASSERT_NE(at, std::string::npos);
  huge[at + 5] = '\xdf';  // map 32 with a count of 2^32-1 and no bytes
  huge.insert(at + 6, "\xff\xff\xff\xff");
  EXPECT_NE(d.decode({huge.data(), huge.size()}, v, why), errc::ok);
  EXPECT_NE(d.decode({good.data(), good.size() - 1}, v, why), errc::ok);
  const std::string trailing = good + "\x01";
  EXPECT_NE(d.decode({trailing.data(), trailing.size()}, v, why), errc::ok) << "trailing byte";
  const std::string deep = encode(json::parse(std::string(100, '[') + std::string(100, ']')));
  EXPECT_EQ(d.decode({deep.data(), deep.size()}, v, why), errc::bad_request) << "data not a map";
}

std::string to_mp(const json& j) {
  const auto v = json::to_msgpack(j);
  return std::string(v.begin(), v.end());
}

TEST(ProjectorDecode, PeekKindReadsSeqTsTypeAggOfRillsLayoutOnly) {
  const std::string out = encode({{"customer_id", "c1"}});
  event_kind_head k;
  ASSERT_TRUE(peek_event_kind({out.data(), out.size()}, k));
  EXPECT_EQ(k.seq, 12u);
  EXPECT_EQ(k.ts, 345u);
  EXPECT_EQ(k.type, "ORDER_CREATED");
  EXPECT_EQ(k.agg, "order");
  // Every cut before the end of agg fails; a cut after it still peeks (the
  // peek promises nothing about the rest).
  const size_t agg_end = out.find("order") + 5;
  for (size_t cut = 0; cut < out.size(); ++cut)
    EXPECT_EQ(peek_event_kind({out.data(), cut}, k), cut >= agg_end) << cut;
  // Another field order: false (the caller decodes in full).
  const std::string other = to_mp(json{{"agg", "order"},
                                       {"data", json::object()},
                                       {"id", "o"},
                                       {"seq", 1},
                                       {"ts", 1},
                                       {"type", "T"},
                                       {"ver", 1}});
  EXPECT_FALSE(peek_event_kind({other.data(), other.size()}, k));
  // The right order with a wrong type: false.
  const auto head4 = [](auto seq, auto type) {
    msgpack::sbuffer b;
    msgpack::packer<msgpack::sbuffer> pk(b);
    pk.pack_map(4);
    pk.pack(std::string("seq"));
    pk.pack(seq);
    pk.pack(std::string("ts"));
    pk.pack(2);
    pk.pack(std::string("type"));
    pk.pack(type);
    pk.pack(std::string("agg"));
    pk.pack(std::string("a"));
    return std::string(b.data(), b.size());
  };
  const std::string good4 = head4(1, std::string("T"));
  EXPECT_TRUE(peek_event_kind({good4.data(), good4.size()}, k));
  EXPECT_EQ(k.agg, "a");
  // Wider encodings: uint16 / uint64 seq, str8 type.
  const std::string wide = head4(uint64_t{300}, std::string(40, 'T'));
  ASSERT_TRUE(peek_event_kind({wide.data(), wide.size()}, k));
  EXPECT_EQ(k.seq, 300u);
  EXPECT_EQ(k.type, std::string(40, 'T'));
  const std::string big = head4(uint64_t{1} << 40, std::string("T"));
  ASSERT_TRUE(peek_event_kind({big.data(), big.size()}, k));
  EXPECT_EQ(k.seq, uint64_t{1} << 40);
  // rill writes a fixmap: a map16 header is left to the full decoder.
  const std::string map16 = std::string("\xde\x00\x04", 3) + good4.substr(1);
  EXPECT_FALSE(peek_event_kind({map16.data(), map16.size()}, k));
  for (size_t cut = 0; cut < wide.size(); ++cut)
    EXPECT_FALSE(peek_event_kind({wide.data(), cut}, k)) << cut;
  const std::string bad_type = head4(1, 3);
  EXPECT_FALSE(peek_event_kind({bad_type.data(), bad_type.size()}, k));
  const std::string neg_seq = head4(-1, std::string("T"));
  EXPECT_FALSE(peek_event_kind({neg_seq.data(), neg_seq.size()}, k));
  const std::string array = to_mp(json::array({"seq", 1, "ts", 2, "type", "T", "agg", "a"}));
  EXPECT_FALSE(peek_event_kind({array.data(), array.size()}, k));
}

}  // namespace
}  // namespace rill::readmodels
