// event_publisher, threaded and inline (rill-core's mode): every journaled
// event up to the limit goes out once, in seq order, as [topic, body] with
// the body bytes as journaled; nothing beyond the limit; start_after skips
// what came before.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "core/buffer.h"
#include "core/event.h"
#include "store/journal_writer.h"
#include "tests/support/child_process.h"
#include "tests/support/small_journal.h"
#include "transport/event_publisher.h"

namespace rill::transport {
namespace {

using rill::test::open_small_journal;
using rill::test::temp_dir;

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Journals n CUSTOMER_CREATED events; returns their bodies (index = seq - 1).
std::vector<std::string> write_journal(const fs::path& dir, uint64_t n) {
  auto w = open_small_journal(dir);  // the publisher crosses several segments
  if (!w) return {};
  std::vector<std::string> bodies;
  out_buffer buf;
  for (uint64_t seq = 1; seq <= n; ++seq) {
    const std::string id = "c" + std::to_string(seq);
    event_view e;
    e.seq = seq;
    e.ts = seq;
    e.type = "CUSTOMER_CREATED";
    e.agg = "customer";
    e.id = id;
    e.ver = 1;
    buf.clear();
    encode_event(buf, e);
    bodies.emplace_back(buf.span().data(), buf.span().size());
    EXPECT_EQ(w->append(seq, buf.span()), store::io_status::ok);
    w->publish();
  }
  return bodies;
}

// Receives [topic, body] messages until `quiet` passes without one.
std::vector<std::pair<std::string, std::string>> drain(zmq::socket_t& sub,
                                                       std::chrono::milliseconds quiet) {
  std::vector<std::pair<std::string, std::string>> got;
  zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
  while (zmq::poll(&item, 1, quiet) > 0) {
    zmq::message_t topic, body;
    EXPECT_TRUE(sub.recv(topic));
    EXPECT_TRUE(topic.more());
    EXPECT_TRUE(sub.recv(body));
    got.emplace_back(topic.to_string(), body.to_string());
  }
  return got;
}

class EventPublisher : public ::testing::TestWithParam<bool> {};

TEST_P(EventPublisher, PublishesUpToTheLimitInOrderOnce) {
  temp_dir dir;
  const auto bodies = write_journal(dir.path() / "journal", 800);
  zmq::context_t ctx;
  publisher_options po;
  po.endpoint = "ipc://" + (dir.path() / "events").string();
  po.journal_dir = dir.path() / "journal";
  po.start_after = 100;  // what a restarted rill-core had already published
  po.inline_send = GetParam();
  event_publisher pub(ctx, po, nullptr);
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  sub.set(zmq::sockopt::subscribe, "");
  sub.set(zmq::sockopt::rcvhwm, 0);
  sub.connect(po.endpoint);
  std::this_thread::sleep_for(300ms);  // PUB/SUB slow joiner

  pub.advance(400);
  auto got = drain(sub, 300ms);
  ASSERT_EQ(got.size(), 300u);  // 101..400, nothing beyond the limit
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, "customer/CUSTOMER_CREATED");
    EXPECT_EQ(got[i].second, bodies[100 + i]) << "seq " << 101 + i;
  }
  EXPECT_EQ(pub.sent(), 400u);
  pub.advance(400);  // no new limit: nothing new
  pub.advance(300);  // a lower limit never goes back
  EXPECT_TRUE(drain(sub, 100ms).empty());
  pub.advance(800);
  got = drain(sub, 300ms);
  ASSERT_EQ(got.size(), 400u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].second, bodies[400 + i]);
  EXPECT_EQ(pub.sent(), 800u);
}

INSTANTIATE_TEST_SUITE_P(Modes, EventPublisher, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Inline" : "Threaded"; });

}  // namespace
}  // namespace rill::transport
