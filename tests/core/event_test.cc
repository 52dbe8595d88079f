#include "core/event.h"

#include <gtest/gtest.h>

#include "tests/core/msgpack_test_util.h"

namespace rill {
namespace {

using test::json;
using test::mp;

// Data as a msgpack object living in zone.
const msgpack::object* make_data(msgpack::zone& zone, const std::string& bytes) {
  auto* o = static_cast<msgpack::object*>(zone.allocate_align(sizeof(msgpack::object)));
  *o = msgpack::unpack(zone, bytes.data(), bytes.size());
  return o;
}

TEST(Event, EncodesInTheFixedOrderAndRoundTrips) {
  msgpack::zone zone;
  const std::string data_bytes = mp(json{{"amount", 12.5}, {"currency", "USD"}});
  event_view e;
  e.seq = 42;
  e.ts = 1'700'000'000'000'000'000ull;
  e.type = "ORDER_CREATED";
  e.agg = "order";
  e.id = "o-1";
  e.ver = 1;
  e.data = make_data(zone, data_bytes);
  e.key = "k-1";
  e.corr = "c-9";
  out_buffer out;
  encode_event(out, e);

  // Field order on the wire.
  msgpack::object_handle h = msgpack::unpack(out.data(), out.size());
  const msgpack::object& root = h.get();
  ASSERT_EQ(root.type, msgpack::type::MAP);
  const std::vector<std::string> order = {"seq", "ts", "type", "agg", "id",
                                          "ver", "data", "key", "corr"};
  ASSERT_EQ(root.via.map.size, order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(root.via.map.ptr[i].key.as<std::string>(), order[i]);
  }

  msgpack::zone z2;
  event_view d;
  std::string msg;
  ASSERT_EQ(decode_event(out.span(), z2, d, &msg), errc::ok) << msg;
  EXPECT_EQ(d.seq, 42u);
  EXPECT_EQ(d.ts, e.ts);
  EXPECT_EQ(d.type, "ORDER_CREATED");
  EXPECT_EQ(d.agg, "order");
  EXPECT_EQ(d.id, "o-1");
  EXPECT_EQ(d.ver, 1u);
  EXPECT_EQ(d.key, "k-1");
  EXPECT_EQ(d.corr, "c-9");
  ASSERT_NE(d.data, nullptr);
  EXPECT_EQ(test::from_mp(out)["data"], (json{{"amount", 12.5}, {"currency", "USD"}}));

  event_head head;
  ASSERT_TRUE(peek_event(out.span(), head));
  EXPECT_EQ(head.seq, 42u);
  EXPECT_EQ(head.ver, 1u);
  EXPECT_EQ(head.type, "ORDER_CREATED");
  EXPECT_EQ(head.agg, "order");
  EXPECT_EQ(head.id, "o-1");
  EXPECT_EQ(head.key, "k-1");

  out_buffer topic;
  append_topic(topic, head.agg, head.type);
  EXPECT_EQ(topic.view(), "order/ORDER_CREATED");
}

TEST(Event, PeekKindReadsSeqTsTypeAggOfRillsLayoutOnly) {
  event_view e;
  e.seq = 9;
  e.ts = 123456789;
  e.type = "ORDER_CREATED";
  e.agg = "order";
  e.id = "o-1";
  e.ver = 1;
  out_buffer out;
  encode_event(out, e);
  event_kind_head k;
  ASSERT_TRUE(peek_event_kind(out.span(), k));
  EXPECT_EQ(k.seq, 9u);
  EXPECT_EQ(k.ts, 123456789u);
  EXPECT_EQ(k.type, "ORDER_CREATED");
  EXPECT_EQ(k.agg, "order");
  // Every cut before the end of agg fails; a cut after it still peeks (the
  // peek promises nothing about the rest).
  const size_t agg_end = out.view().find("order") + 5;
  for (size_t cut = 0; cut < out.size(); ++cut)
    EXPECT_EQ(peek_event_kind({out.data(), cut}, k), cut >= agg_end) << cut;
  // Another field order: false (the caller decodes in full).
  const std::string other = mp(json{{"agg", "order"}, {"data", json::object()}, {"id", "o"},
                                    {"seq", 1}, {"ts", 1}, {"type", "T"}, {"ver", 1}});
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
  // Wider encodings: uint16 / uint64 seq, str8 type, a map16 header.
  const std::string wide = head4(uint64_t{300}, std::string(40, 'T'));
  ASSERT_TRUE(peek_event_kind({wide.data(), wide.size()}, k));
  EXPECT_EQ(k.seq, 300u);
  EXPECT_EQ(k.type, std::string(40, 'T'));
  const std::string big = head4(uint64_t{1} << 40, std::string("T"));
  ASSERT_TRUE(peek_event_kind({big.data(), big.size()}, k));
  EXPECT_EQ(k.seq, uint64_t{1} << 40);
  const std::string map16 = std::string("\xde\x00\x04", 3) + good4.substr(1);
  ASSERT_TRUE(peek_event_kind({map16.data(), map16.size()}, k));
  EXPECT_EQ(k.type, "T");
  for (size_t cut = 0; cut < wide.size(); ++cut)
    EXPECT_FALSE(peek_event_kind({wide.data(), cut}, k)) << cut;
  const std::string bad_type = head4(1, 3);
  EXPECT_FALSE(peek_event_kind({bad_type.data(), bad_type.size()}, k));
  const std::string neg_seq = head4(-1, std::string("T"));
  EXPECT_FALSE(peek_event_kind({neg_seq.data(), neg_seq.size()}, k));
  const std::string array = mp(json::array({"seq", 1, "ts", 2, "type", "T", "agg", "a"}));
  EXPECT_FALSE(peek_event_kind({array.data(), array.size()}, k));
}

TEST(Event, AbsentKeyCorrAndDataAreOmittedOrEmpty) {
  event_view e;
  e.seq = 1;
  e.type = "T";
  e.agg = "a";
  e.id = "x";
  e.ver = 3;
  out_buffer out;
  encode_event(out, e);
  const json j = test::from_mp(out);
  EXPECT_EQ(j.size(), 7u);
  EXPECT_EQ(j["data"], json::object());
  EXPECT_FALSE(j.contains("key"));
  EXPECT_FALSE(j.contains("corr"));
  event_head head;
  ASSERT_TRUE(peek_event(out.span(), head));
  EXPECT_TRUE(head.key.empty());
  EXPECT_EQ(head.ver, 3u);
}

TEST(Event, PeekFallsBackToAnyFieldOrder) {
  const std::string body = mp(json{{"agg", "customer"}, {"data", {{"name", "n"}}}, {"id", "c1"},
                                   {"key", "kk"}, {"seq", 7}, {"ts", 1}, {"type", "CUSTOMER_CREATED"},
                                   {"ver", 2}, {"extra", {1, 2, 3}}});
  event_head head;
  ASSERT_TRUE(peek_event({body.data(), body.size()}, head));
  EXPECT_EQ(head.seq, 7u);
  EXPECT_EQ(head.ver, 2u);
  EXPECT_EQ(head.agg, "customer");
  EXPECT_EQ(head.id, "c1");
  EXPECT_EQ(head.type, "CUSTOMER_CREATED");
  EXPECT_EQ(head.key, "kk");
  msgpack::zone zone;
  event_view d;
  ASSERT_EQ(decode_event({body.data(), body.size()}, zone, d), errc::ok);  // unknown field ignored
  EXPECT_EQ(d.seq, 7u);
}

TEST(Event, MalformedBodiesAreRejected) {
  const json good = {{"seq", 1}, {"ts", 2}, {"type", "T"}, {"agg", "a"},
                     {"id", "i"}, {"ver", 1}, {"data", json::object()}};
  msgpack::zone zone;
  event_view d;
  event_head head;
  std::string msg;
  for (const char* f : {"seq", "ts", "type", "agg", "id", "ver", "data"}) {
    json j = good;
    j.erase(f);
    const std::string b = mp(j);
    EXPECT_EQ(decode_event({b.data(), b.size()}, zone, d, &msg), errc::bad_request) << f;
    EXPECT_NE(msg.find(f), std::string::npos) << msg;
    j[f] = json::array();  // wrong type
    const std::string w = mp(j);
    EXPECT_EQ(decode_event({w.data(), w.size()}, zone, d), errc::bad_request) << f;
    if (std::string_view(f) != "ts" && std::string_view(f) != "data") {
      EXPECT_FALSE(peek_event({w.data(), w.size()}, head)) << f;
      EXPECT_FALSE(peek_event({b.data(), b.size()}, head)) << f;
    }
  }
  const std::string ok = mp(good);
  for (size_t cut = 0; cut < ok.size(); ++cut) {
    EXPECT_EQ(decode_event({ok.data(), cut}, zone, d), errc::bad_request) << cut;
    EXPECT_FALSE(peek_event({ok.data(), cut}, head)) << cut;
  }
  const std::string arr = mp(json::array({1, 2}));
  EXPECT_EQ(decode_event({arr.data(), arr.size()}, zone, d), errc::bad_request);
  EXPECT_FALSE(peek_event({arr.data(), arr.size()}, head));
}

}  // namespace
}  // namespace rill
