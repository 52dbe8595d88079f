// pipeline_client::poll_until: waits with sub-millisecond precision, returns
// early when a reply arrives, and never loses a reply that arrived while it
// slept (ZMQ_FD is edge-triggered).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "transport/client.h"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// A ROUTER on an ipc endpoint that echoes every request after `delay`.
class echo_server {
 public:
  echo_server(zmq::context_t& ctx, std::chrono::microseconds delay)
      : ep_("ipc:///tmp/rill-pc-test-" + std::to_string(::getpid()) + "-" +
            std::to_string(next_id_++)),
        sock_(ctx, zmq::socket_type::router),
        delay_(delay) {
    sock_.set(zmq::sockopt::linger, 0);
    sock_.bind(ep_);
    thread_ = std::thread([this] { run(); });
  }
  ~echo_server() {
    stop_ = true;
    thread_.join();
    // ZeroMQ leaves the ipc socket file behind; the test must not.
    sock_.close();
    ::unlink(path().c_str());
  }
  const std::string& endpoint() const { return ep_; }
  std::string path() const { return ep_.substr(std::string("ipc://").size()); }

 private:
  void run() {
    zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
    while (!stop_) {
      if (zmq::poll(&item, 1, 10ms) <= 0) continue;
      std::vector<zmq::message_t> frames;
      zmq::message_t m;
      do {
        if (!sock_.recv(m, zmq::recv_flags::none)) return;
        frames.push_back(std::move(m));
      } while (frames.back().more());
      std::this_thread::sleep_for(delay_);
      for (size_t i = 0; i < frames.size(); ++i)
        sock_.send(frames[i], i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }

  static inline std::atomic<int> next_id_{0};
  std::string ep_;
  zmq::socket_t sock_;
  std::chrono::microseconds delay_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(EchoServer, LeavesNoSocketFileBehind) {
  zmq::context_t ctx;
  std::string path;
  {
    echo_server srv(ctx, 0us);
    path = srv.path();
    ASSERT_EQ(::access(path.c_str(), F_OK), 0) << "the bound socket file exists while it runs";
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << path;
}

TEST(PipelineClient, PollUntilTimesOutWithoutReplies) {
  zmq::context_t ctx(1);
  echo_server srv(ctx, 0us);
  rill::transport::pipeline_client pc(ctx, srv.endpoint(), 10);
  size_t got = 0;
  const auto start = clock_type::now();
  EXPECT_EQ(pc.poll_until([&](std::span<const char>) { ++got; }, start + 3ms), 0u);
  EXPECT_GE(clock_type::now() - start, 3ms);  // did not return before `until`
  EXPECT_EQ(got, 0u);
  // A time in the past returns at once.
  EXPECT_EQ(pc.poll_until([&](std::span<const char>) { ++got; }, start), 0u);
}

TEST(PipelineClient, PollUntilReturnsWhenTheReplyArrives) {
  zmq::context_t ctx(1);
  echo_server srv(ctx, 2ms);
  rill::transport::pipeline_client pc(ctx, srv.endpoint(), 10);
  std::vector<std::string> replies;
  auto on_reply = [&](std::span<const char> r) { replies.emplace_back(r.data(), r.size()); };
  ASSERT_TRUE(pc.submit(std::span<const char>("ping", 4), on_reply));
  const auto start = clock_type::now();
  size_t handled = 0;
  while (handled == 0 && clock_type::now() - start < 5s)
    handled = pc.poll_until(on_reply, clock_type::now() + 2s);
  EXPECT_EQ(handled, 1u);
  EXPECT_LT(clock_type::now() - start, 1s);  // woke on the reply, not at `until`
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0], "ping");
  EXPECT_EQ(pc.in_flight(), 0u);
}

// Many short waits between sends, as an open-loop sender does: every reply is
// handled, none is stranded behind an edge the ZMQ_FD already reported.
TEST(PipelineClient, ShortWaitsBetweenSendsLoseNoReply) {
  zmq::context_t ctx(1);
  echo_server srv(ctx, 0us);
  constexpr size_t kN = 2000;
  rill::transport::pipeline_client pc(ctx, srv.endpoint(), 100);
  size_t got = 0;
  auto on_reply = [&](std::span<const char>) { ++got; };
  for (size_t i = 0; i < kN; ++i) {
    ASSERT_TRUE(pc.submit(std::span<const char>("x", 1), on_reply));
    pc.poll_until(on_reply, clock_type::now() + 20us);
  }
  const auto deadline = clock_type::now() + 10s;
  while (got < kN && clock_type::now() < deadline) pc.poll_until(on_reply, clock_type::now() + 1ms);
  EXPECT_EQ(got, kN);
  EXPECT_EQ(pc.in_flight(), 0u);
}

}  // namespace
