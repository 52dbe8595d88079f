// server_socket on a tcp:// endpoint with CURVE: a client whose key is not on
// the allow-list gets `forbidden` (req echoed) from recv() itself, never a
// request handed to the caller; at most kForbiddenPerSecond answers a
// second; an allowed client is served as usual.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "transport/security.h"
#include "transport/server_socket.h"

namespace rill::transport {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

void send_json(zmq::socket_t& s, const json& j) {
  const auto bytes = json::to_msgpack(j);
  s.send(zmq::buffer(bytes.data(), bytes.size()), zmq::send_flags::none);
}

TEST(ServerSocketCurve, RefusedClientsAreAnsweredForbiddenAtABoundedRate) {
  zmq::context_t ctx;
  const auto server = generate_key_pair();
  const auto allowed = generate_key_pair();
  const auto stranger = generate_key_pair();
  zap_handler zap(ctx, {allowed.public_z85});
  const server_security sec{server, {allowed.public_z85}};
  server_socket sock(ctx, "tcp://127.0.0.1:*", {}, &sec);
  const std::string ep = sock.socket().get(zmq::sockopt::last_endpoint);
  auto client = [&](const key_pair& kp) {
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    const client_security cs{server.public_z85, kp};
    apply_client_security(s, ep, &cs);
    s.connect(ep);
    return s;
  };

  // A flood from the stranger: every request is counted, none reaches the
  // caller, and the answers stop at the per-second cap.
  auto bad = client(stranger);
  constexpr uint64_t n = 2500;
  for (uint64_t i = 0; i < n; ++i) send_json(bad, {{"op", "ping"}, {"req", i}});
  inbound in;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (sock.forbidden() < n && std::chrono::steady_clock::now() < deadline) {
    EXPECT_FALSE(sock.recv(in, false)) << "a refused client's request reached the caller";
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(sock.forbidden(), n);
  uint64_t answers = 0;
  zmq::message_t reply;
  for (;;) {
    zmq::pollitem_t item{bad.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, 500ms) == 0) break;
    ASSERT_TRUE(bad.recv(reply, zmq::recv_flags::none));
    const auto r = json::from_msgpack(static_cast<const uint8_t*>(reply.data()),
                                      static_cast<const uint8_t*>(reply.data()) + reply.size());
    EXPECT_EQ(r["ok"], false);
    EXPECT_EQ(r["error"], "forbidden");
    EXPECT_EQ(r["req"], answers) << "answers come in order, each with its request's req";
    ++answers;
  }
  // The flood takes far less than a second to serve, so one window's worth
  // is answered; two windows at most on a very slow machine.
  EXPECT_GE(answers, kForbiddenPerSecond);
  EXPECT_LE(answers, 2 * kForbiddenPerSecond);

  // The allowed client is served as usual, after the flood.
  auto good = client(allowed);
  send_json(good, {{"op", "ping"}, {"req", "g"}});
  bool got = false;
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (!got && std::chrono::steady_clock::now() < until) {
    got = sock.recv(in, false);
    if (!got) std::this_thread::sleep_for(1ms);
  }
  ASSERT_TRUE(got);
  const auto body =
      json::from_msgpack(static_cast<const uint8_t*>(in.body.data()),
                         static_cast<const uint8_t*>(in.body.data()) + in.body.size());
  EXPECT_EQ(body["req"], "g");
  EXPECT_EQ(sock.forbidden(), n);
}

}  // namespace
}  // namespace rill::transport
