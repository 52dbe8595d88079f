// Parsing of replay endpoint replies as event_source_replay reads them
// (readmodels/replay_reply.h).
#include "readmodels/replay_reply.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/buffer.h"
#include "core/event.h"
#include "core/msgpack.h"

namespace rill::readmodels {
namespace {

using json = nlohmann::json;

std::string event_body(uint64_t seq) {
  const auto d = json::to_msgpack(json{{"n", seq}});
  msgpack::object_handle oh = msgpack::unpack(reinterpret_cast<const char*>(d.data()), d.size());
  out_buffer out;
  encode_event(out, event_view{.seq = seq,
                               .ts = 1,
                               .ver = 1,
                               .type = "T",
                               .agg = "a",
                               .id = "i",
                               .key = {},
                               .corr = {},
                               .data = &oh.get()});
  return std::string(out.view());
}

std::string reply(uint64_t first, size_t n, uint64_t head, uint64_t req) {
  out_buffer out;
  msgpack::packer<out_buffer> pk(out);
  pk.pack_map(4);
  pk.pack("ok");
  pk.pack(true);
  pk.pack("events");
  pk.pack_array(static_cast<uint32_t>(n));
  for (size_t k = 0; k < n; ++k) {
    const std::string b = event_body(first + k);
    out.write(b.data(), b.size());
  }
  pk.pack("head");
  pk.pack(head);
  pk.pack("req");
  pk.pack(req);
  return std::string(out.view());
}

struct parsed {
  source_status s;
  uint64_t head = 0;
  std::vector<source_event> page;
  std::string why;
};

parsed parse(const std::string& bytes, uint64_t pos, uint64_t req, uint64_t head = 0) {
  parsed p;
  p.head = head;
  p.s = parse_replay_reply({bytes.data(), bytes.size()}, pos, req, p.head, p.page, p.why);
  return p;
}

TEST(ReplayReply, Page) {
  const std::string r = reply(4, 3, 10, 7);
  auto p = parse(r, 4, 7);
  ASSERT_EQ(p.s, source_status::ok) << p.why;
  ASSERT_EQ(p.page.size(), 3u);
  EXPECT_EQ(p.page[0].seq, 4u);
  EXPECT_EQ(p.page[2].seq, 6u);
  EXPECT_EQ(p.head, 10u);
  EXPECT_EQ(std::string(p.page[1].body.data(), p.page[1].body.size()), event_body(5));
}

TEST(ReplayReply, HeadRaisedToLastEvent) {
  auto p = parse(reply(1, 2, 1, 1), 1, 1);
  ASSERT_EQ(p.s, source_status::ok);
  EXPECT_EQ(p.head, 2u);
}

TEST(ReplayReply, StaleReplyIsEnd) {
  auto p = parse(reply(1, 1, 1, 6), 1, 7, 42);
  EXPECT_EQ(p.s, source_status::end);
  EXPECT_EQ(p.head, 42u);
  EXPECT_TRUE(p.page.empty());
}

TEST(ReplayReply, NotDenseIsCorrupt) {
  auto p = parse(reply(2, 2, 3, 1), 1, 1, 42);
  EXPECT_EQ(p.s, source_status::corrupt);
  EXPECT_EQ(p.why, "expected seq 1, got 2");
  EXPECT_EQ(p.head, 42u);
}

TEST(ReplayReply, ServerError) {
  const auto v = json::to_msgpack(json{{"ok", false}, {"error", "unavailable"}, {"req", 1}});
  auto p = parse(std::string(v.begin(), v.end()), 1, 1);
  EXPECT_EQ(p.s, source_status::unavailable);
  EXPECT_EQ(p.why, "server says unavailable");
}

TEST(ReplayReply, Malformed) {
  EXPECT_EQ(parse("\x93", 1, 1).s, source_status::corrupt);
  const auto v = json::to_msgpack(json{{"events", json::array()}});
  EXPECT_EQ(parse(std::string(v.begin(), v.end()), 1, 1).why, "malformed reply");
  const auto w = json::to_msgpack(json{{"ok", true}, {"events", {{{"seq", 1}}}}});
  EXPECT_EQ(parse(std::string(w.begin(), w.end()), 1, 1).why, "malformed event in reply");
}

// Found by fuzz_replay_reply: an events count of 2^32-1 in a few bytes made
// the parser reserve ~100 GB (std::bad_alloc out of rill-proj's fetch loop).
TEST(ReplayReply, HugeEventCountIsCorrupt) {
  const std::string r(
      "\x82\xa2ok\xc3\xa6"
      "events\xdd\xff\xff\xff\xff",
      17);
  auto p = parse(r, 1, 1);
  EXPECT_EQ(p.s, source_status::corrupt);
  EXPECT_EQ(p.why, "truncated event");
}

}  // namespace
}  // namespace rill::readmodels
