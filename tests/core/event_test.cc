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

// peek_event_kind reads the first four fields of what encode_event writes,
// with or without key and corr, and agrees with peek_event; it refuses a
// body in another field order (peek_event still reads that one).
TEST(Event, PeekKindReadsTheFirstFourFields) {
  msgpack::zone zone;
  const std::string data_bytes = mp(json{{"name", "Ada"}});
  for (int extra = 0; extra < 3; ++extra) {
    event_view e;
    e.seq = 300 + extra;
    e.ts = 1'700'000'000'000'000'123ull;
    e.type = "CUSTOMER_CREATED";
    e.agg = "customer";
    e.id = "c-1";
    e.ver = 1;
    e.data = make_data(zone, data_bytes);
    if (extra > 0) e.key = "k";
    if (extra > 1) e.corr = "c";
    out_buffer out;
    encode_event(out, e);
    event_kind_head k;
    ASSERT_TRUE(peek_event_kind(out.span(), k));
    EXPECT_EQ(k.seq, e.seq);
    EXPECT_EQ(k.ts, e.ts);
    EXPECT_EQ(k.type, "CUSTOMER_CREATED");
    EXPECT_EQ(k.agg, "customer");
    event_head h;
    ASSERT_TRUE(peek_event(out.span(), h));
    EXPECT_EQ(h.type, k.type);
    EXPECT_EQ(h.agg, k.agg);
  }
  const std::string other = mp(json{{"agg", "customer"},
                                    {"data", json::object()},
                                    {"id", "c-1"},
                                    {"seq", 1},
                                    {"ts", 2},
                                    {"type", "T"},
                                    {"ver", 1}});
  event_kind_head k;
  EXPECT_FALSE(peek_event_kind({other.data(), other.size()}, k));
  event_head h;
  ASSERT_TRUE(peek_event({other.data(), other.size()}, h));
  EXPECT_EQ(h.agg, "customer");
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
