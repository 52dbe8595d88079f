// rill-notify through its sockets, started as a child process from
// RILL_BIN_DIR on a temporary data directory: PROTOCOL.md "Change notification".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "tests/support/child_process.h"
#include "transport/client.h"
#include "transport/endpoints.h"
#include "transport/notify_client.h"
#include "transport/security.h"

namespace rill {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::string pack(const json& j) {
  auto v = json::to_msgpack(j);
  return std::string(v.begin(), v.end());
}

json unpack(const zmq::message_t& m) {
  return json::from_msgpack(static_cast<const uint8_t*>(m.data()),
                            static_cast<const uint8_t*>(m.data()) + m.size(), true, false);
}

// A raw DEALER connection to `notify`, optionally sending the REQ-style
// empty delimiter. Notes and replies are told apart by the "note" field.
class raw_client {
 public:
  raw_client(zmq::context_t& ctx, const std::string& ep, bool delimiter = false, int rcvhwm = 1000)
      : s_(ctx, zmq::socket_type::dealer), delimiter_(delimiter) {
    s_.set(zmq::sockopt::linger, 0);
    s_.set(zmq::sockopt::rcvhwm, rcvhwm);
    s_.connect(ep);
  }
  void send_frames(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i)
      s_.send(zmq::buffer(frames[i]),
              i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
  void send(const std::string& body) {
    if (delimiter_) {
      send_frames({"", body});
    } else {
      send_frames({body});
    }
  }
  void send(const json& j) { send(pack(j)); }
  // The next message (body frame decoded), or discarded json on timeout.
  json recv(std::chrono::milliseconds timeout = 10s) {
    zmq::pollitem_t item{s_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return json::value_t::discarded;
    std::vector<zmq::message_t> parts;
    zmq::message_t m;
    do {
      (void)s_.recv(m);
      parts.push_back(std::move(m));
    } while (parts.back().more());
    if (delimiter_) {
      EXPECT_EQ(parts.size(), 2u);
      EXPECT_EQ(parts[0].size(), 0u);
    } else {
      EXPECT_EQ(parts.size(), 1u);
    }
    return unpack(parts.back());
  }
  // Sends a request and returns its reply; notes arriving meanwhile are kept.
  json call(const json& j, std::chrono::milliseconds timeout = 10s) {
    send(j);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return json::value_t::discarded;
      json m = recv(left);
      if (m.is_discarded()) return m;
      if (m.contains("note")) {
        notes.push_back(m);
        continue;
      }
      return m;
    }
  }
  // The next note (kept ones first), or discarded json.
  json note(std::chrono::milliseconds timeout = 10s) {
    if (!notes.empty()) {
      json n = notes.front();
      notes.erase(notes.begin());
      return n;
    }
    json m = recv(timeout);
    if (!m.is_discarded()) {
      EXPECT_TRUE(m.contains("note")) << m.dump();
    }
    return m;
  }
  zmq::socket_t& socket() { return s_; }
  std::vector<json> notes;

 private:
  zmq::socket_t s_;
  bool delimiter_;
};

class notify_daemon : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_.set(zmq::ctxopt::max_sockets, 4096);
    eps_ = transport::default_endpoints(dir_.path());
  }
  void TearDown() override {
    if (daemon_.running()) {
      const int status = daemon_.kill(SIGTERM);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
    }
  }
  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {std::string(RILL_BIN_DIR) + "/rill-notify", "--data",
                                     dir_.path().string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    daemon_.start(argv, (dir_.path() / "notify.log").string());
    ASSERT_TRUE(test::eventually([&] { return ping(); }, 20s)) << "rill-notify did not come up";
    push_.emplace(ctx_, zmq::socket_type::push);
    push_->set(zmq::sockopt::linger, 0);
    push_->set(zmq::sockopt::sndhwm, 1'000'000);
    push_->connect(eps_.notify_in);
  }
  bool ping() {
    transport::rpc_client c(ctx_, eps_.notify, sec_);
    auto r = c.call({{"op", "ping"}}, 200ms);
    return r && (*r)["ok"] == true;
  }
  json status() {
    transport::rpc_client c(ctx_, eps_.notify, sec_);
    auto r = c.call({{"op", "status"}}, 10s);
    EXPECT_TRUE(r.has_value());
    return r.value_or(json::object());
  }
  void report(const std::string& model, const std::vector<std::string>& keys, uint64_t seq) {
    push_->send(zmq::buffer(pack({{"model", model}, {"keys", keys}, {"seq", seq}})),
                zmq::send_flags::none);
    ++reports_;
  }
  // Waits until the notifier has applied every report pushed so far: notes
  // they caused are then already on their way to the clients.
  void settle() {
    ASSERT_TRUE(test::eventually(
        [&] {
          json s = status();
          return s.value("reports", uint64_t{0}) + s.value("reports_bad", uint64_t{0}) >= reports_;
        },
        20s))
        << status().dump();
  }
  // True if the client has nothing pending: a ping's reply is the next message.
  static bool quiet(raw_client& c) {
    json r = c.call({{"op", "ping"}, {"req", "quiet"}});
    return c.notes.empty() && r.value("ok", false) && r["req"] == "quiet";
  }

  test::temp_dir dir_{"rill-notify"};
  zmq::context_t ctx_;
  transport::endpoints eps_;
  test::child_process daemon_;
  std::optional<zmq::socket_t> push_;
  uint64_t reports_ = 0;
  const transport::client_security* sec_ = nullptr;  // for a tcp:// notify endpoint
};

// A loopback TCP port nobody listens on right now.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return -1;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// config/default.json's "_doc" keys are comments to every daemon.
TEST_F(notify_daemon, StartsWithTheShippedConfigFile) {
  start({"--config", RILL_SOURCE_DIR "/config/default.json"});
  EXPECT_TRUE(ping());
}

TEST_F(notify_daemon, WatchNotifyUnwatch) {
  start();
  raw_client c(ctx_, eps_.notify);
  json r = c.call({{"op", "watch"}, {"model", "customers"}, {"key", "c1"}, {"req", 1}});
  EXPECT_EQ(r["ok"], true) << r.dump();
  EXPECT_EQ(r["op"], "watch");
  EXPECT_EQ(r["req"], 1);
  EXPECT_EQ(r["known"], false);
  EXPECT_EQ(r["expiry_ms"], 30000);

  report("customers", {"c2"}, 4);
  report("customers", {"c1"}, 5);
  json n = c.note();
  EXPECT_EQ(n, (json{{"note", "changed"}, {"model", "customers"}, {"key", "c1"}, {"seq", 5}}));
  settle();
  EXPECT_TRUE(quiet(c)) << "c2 is not watched";

  r = c.call({{"op", "unwatch"}, {"model", "customers"}, {"key", "c1"}, {"req", "u"}});
  EXPECT_EQ(r["ok"], true);
  EXPECT_EQ(r["op"], "unwatch");
  EXPECT_EQ(r["removed"], true);
  EXPECT_EQ(r["known"], true);
  EXPECT_EQ(r["expiry_ms"], 30000) << "every reply carries expiry_ms (PROTOCOL.md)";
  EXPECT_EQ(r["req"], "u");
  report("customers", {"c1"}, 6);
  settle();
  EXPECT_TRUE(quiet(c));
  r = c.call({{"op", "unwatch"}, {"model", "customers"}, {"key", "c1"}});
  EXPECT_EQ(r["removed"], false);

  json s = status();
  EXPECT_EQ(s["ok"], true);
  EXPECT_EQ(s["op"], "status");
  EXPECT_EQ(s["watches"], 0);
  EXPECT_EQ(s["notes_sent"], 1);
  EXPECT_EQ(s["reports"], 3);
  // Per model that reported, watched or not: how many reports, how far.
  EXPECT_EQ(s["sources"], (json{{"customers", {{"reports", 3}, {"seq", 6}}}})) << s.dump();
}

// status "sources" says which models reach the notifier and the highest seq
// each reported (whole-model and out-of-order reports too), which a client
// can wait on before it watches; the names come from the reports, so only
// the first 1024 are tracked.
TEST_F(notify_daemon, StatusListsEveryReportingModelAndItsHighestSeq) {
  start();
  EXPECT_EQ(status()["sources"], json::object()) << "no report yet";
  report("orders", {"o1"}, 9);
  report("orders", {}, 12);  // the whole model
  report("orders", {"o2"}, 10);
  report("customers", {"c1", "c2"}, 3);
  settle();
  json s = status();
  EXPECT_EQ(s["sources"], (json{{"customers", {{"reports", 1}, {"seq", 3}}},
                                {"orders", {{"reports", 3}, {"seq", 12}}}}))
      << s.dump();
  for (int i = 0; i < 1100; ++i) report("m" + std::to_string(i), {"k"}, 1);
  settle();
  s = status();
  EXPECT_EQ(s["sources"].size(), 1024u);
  EXPECT_EQ(s["reports"], 1104);
  EXPECT_EQ(s["sources"]["orders"]["reports"], 3);
}

TEST_F(notify_daemon, WholeModelAndKeyWatches) {
  start();
  raw_client whole(ctx_, eps_.notify), o1(ctx_, eps_.notify), o2(ctx_, eps_.notify),
      both(ctx_, eps_.notify, /*delimiter=*/true);
  ASSERT_EQ(whole.call({{"op", "watch"}, {"model", "orders"}})["ok"], true);
  ASSERT_EQ(o1.call({{"op", "watch"}, {"model", "orders"}, {"key", "o1"}})["ok"], true);
  ASSERT_EQ(o2.call({{"op", "watch"}, {"model", "orders"}, {"key", "o2"}})["ok"], true);
  ASSERT_EQ(both.call({{"op", "watch"}, {"model", "orders"}, {"key", nullptr}})["ok"], true);
  ASSERT_EQ(both.call({{"op", "watch"}, {"model", "orders"}, {"key", "o1"}})["ok"], true);

  report("orders", {"o1"}, 3);
  const json n3 = {{"note", "changed"}, {"model", "orders"}, {"key", "o1"}, {"seq", 3}};
  EXPECT_EQ(whole.note(), n3);
  EXPECT_EQ(o1.note(), n3);
  EXPECT_EQ(both.note(), n3) << "one note per change, however many watches match";

  report("orders", {}, 4);  // the whole model changed
  const json n4 = {{"note", "changed"}, {"model", "orders"}, {"key", nullptr}, {"seq", 4}};
  EXPECT_EQ(whole.note(), n4);
  EXPECT_EQ(o1.note(), n4);
  EXPECT_EQ(o2.note(), n4);
  EXPECT_EQ(both.note(), n4);

  report("customers", {"o1"}, 5);
  settle();
  for (auto* c : {&whole, &o1, &o2, &both}) EXPECT_TRUE(quiet(*c));
}

TEST_F(notify_daemon, ThousandWatchersAllGetOneChange) {
  start();
  constexpr int kClients = 1000;
  std::vector<std::unique_ptr<raw_client>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<raw_client>(ctx_, eps_.notify));
    json w = {{"op", "watch"}, {"model", "customers"}, {"req", i}};
    if (i % 2) w["key"] = "hot";
    clients.back()->send(w);
  }
  for (auto& c : clients) ASSERT_EQ(c->recv()["ok"], true);
  EXPECT_EQ(status()["clients"], kClients);

  report("customers", {"hot"}, 99);
  std::vector<zmq::pollitem_t> items;
  for (auto& c : clients) items.push_back({c->socket().handle(), 0, ZMQ_POLLIN, 0});
  std::vector<bool> got(kClients, false);
  int received = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (received < kClients && std::chrono::steady_clock::now() < deadline) {
    zmq::poll(items.data(), items.size(), 100ms);
    for (int i = 0; i < kClients; ++i) {
      if (got[i] || !(items[i].revents & ZMQ_POLLIN)) continue;
      json n = clients[i]->recv(0ms);
      EXPECT_EQ(n,
                (json{{"note", "changed"}, {"model", "customers"}, {"key", "hot"}, {"seq", 99}}));
      got[i] = true;
      ++received;
    }
  }
  EXPECT_EQ(received, kClients);
  EXPECT_EQ(status()["notes_sent"], kClients);
}

TEST_F(notify_daemon, SilentClientsExpireAndPingingOnesStay) {
  start({"--expiry-ms", "2000"});
  raw_client silent(ctx_, eps_.notify), alive(ctx_, eps_.notify);
  ASSERT_EQ(silent.call({{"op", "watch"}, {"model", "m"}})["expiry_ms"], 2000);
  ASSERT_EQ(alive.call({{"op", "watch"}, {"model", "m"}})["ok"], true);
  // Three seconds with `alive` pinging every 100 ms, then until `silent` is gone.
  const auto until = std::chrono::steady_clock::now() + 3s;
  bool expired = false;
  while (std::chrono::steady_clock::now() < until || !expired) {
    json p = alive.call({{"op", "ping"}});
    ASSERT_EQ(p["ok"], true);
    ASSERT_EQ(p["known"], true) << "a client that pings is never forgotten";
    expired = status()["clients_expired"] == 1;
    ASSERT_LT(std::chrono::steady_clock::now(), until + 20s) << "the silent client never expired";
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status()["clients"], 1);
  report("m", {"k"}, 7);
  EXPECT_EQ(alive.note()["seq"], 7);
  settle();
  EXPECT_TRUE(silent.notes.empty());
  json p = silent.call({{"op", "ping"}});
  EXPECT_EQ(p["known"], false) << "the notifier forgot it: the hint to watch again";
  EXPECT_EQ(p["watches"], 0);
  EXPECT_TRUE(silent.notes.empty());
}

// A client that stops reading for a while keeps its watches and misses
// nothing: once its pipe is full, what does not fit is owed as one
// whole-model note (key nil, the newest seq), sent when it reads again;
// then per-key notes resume. Others are served all along.
TEST_F(notify_daemon, ClientThatStopsReadingIsOwedAWholeModelNoteOthersKeepReceiving) {
  start({"--client-queue", "50"});
  raw_client stalled(ctx_, eps_.notify, false, /*rcvhwm=*/10);
  raw_client healthy(ctx_, eps_.notify);
  ASSERT_EQ(stalled.call({{"op", "watch"}, {"model", "m"}})["ok"], true);
  ASSERT_EQ(healthy.call({{"op", "watch"}, {"model", "m"}})["ok"], true);
  uint64_t seq = 0;
  bool full = false;
  // Chunks of 40 distinct keys (no coalescing); `healthy` drains each chunk
  // before the next, `stalled` does not read.
  for (int chunk = 0; chunk < 2500 && !full; ++chunk) {
    for (int i = 0; i < 40; ++i) {
      ++seq;
      report("m", {"k" + std::to_string(seq)}, seq);
    }
    for (;;) {
      json n = healthy.note(20s);
      ASSERT_FALSE(n.is_discarded()) << "healthy client starved at seq " << seq;
      if (n["seq"] == seq) break;
    }
    if (chunk % 10 == 9) full = status()["clients_stalled"] == 1;
  }
  ASSERT_TRUE(full) << status().dump();
  // More changes while it is stalled: they are owed, not sent.
  for (int i = 0; i < 100; ++i) report("m", {"late" + std::to_string(i)}, ++seq);
  const uint64_t last = seq;
  settle();
  json s = status();
  EXPECT_EQ(s["clients"], 2);
  EXPECT_EQ(s["watches"], 2);
  EXPECT_EQ(s["clients_dropped"], 0);
  EXPECT_EQ(s["stalls"], 1);
  // The stalled one reads at last: the per-key notes that were in its pipe,
  // in order, then one whole-model note with the newest seq.
  uint64_t prev = 0;
  size_t keyed = 0;
  json whole;
  for (json m = stalled.recv(2s); !m.is_discarded(); m = stalled.recv(2s)) {
    ASSERT_TRUE(m.contains("note")) << m.dump();
    if (m["key"].is_null()) {
      whole = m;
      break;
    }
    EXPECT_GT(m["seq"].get<uint64_t>(), prev);
    prev = m["seq"].get<uint64_t>();
    ++keyed;
  }
  EXPECT_GT(keyed, 50u);
  ASSERT_FALSE(whole.is_null()) << "no whole-model note after " << keyed << " keyed ones";
  EXPECT_EQ(whole["model"], "m");
  EXPECT_EQ(whole["seq"], last);
  // Still known, and per-key notes again.
  json r = stalled.call({{"op", "ping"}, {"req", "back"}});
  EXPECT_EQ(r["known"], true) << r.dump();
  report("m", {"after"}, ++seq);
  json n = stalled.note();
  EXPECT_EQ(n["key"], "after") << n.dump();
  // (`healthy` did not read the 100 late ones either: a full pipe may have
  // folded some of them into a whole-model note; "after" comes last.)
  json h;
  do h = healthy.note();
  while (!h.is_discarded() && h["key"] != "after");
  EXPECT_EQ(h["key"], "after");
  EXPECT_EQ(status()["clients_stalled"], 0);
}

// PROTOCOL.md: a client with thousands of requests in flight gets every
// reply. More than the pipe holds (2 * client_queue here, plus what the
// client's own receive queue takes) wait in a backlog until the client reads.
TEST_F(notify_daemon, PipelinedRequestsGetEveryReplyWhenReadLater) {
  start();
  raw_client c(ctx_, eps_.notify);
  ASSERT_EQ(c.call({{"op", "watch"}, {"model", "m"}})["ok"], true);
  constexpr int kRequests = 6000;
  for (int i = 0; i < kRequests; ++i) c.send({{"op", "ping"}, {"req", i}});
  std::this_thread::sleep_for(300ms);  // the notifier answers all while nobody reads
  for (int i = 0; i < kRequests; ++i) {
    json r = c.recv(10s);
    ASSERT_FALSE(r.is_discarded()) << "reply " << i << " missing; " << status().dump();
    ASSERT_EQ(r["req"], i) << r.dump();
    ASSERT_EQ(r["ok"], true);
  }
  json s = status();
  EXPECT_EQ(s["replies_lost"], 0) << s.dump();
  EXPECT_GT(s["replies_delayed"].get<uint64_t>(), 0u) << s.dump();
  EXPECT_EQ(s["replies_waiting"], 0) << s.dump();
  EXPECT_EQ(c.call({{"op", "ping"}})["known"], true) << "a client that reads late is kept";
}

TEST_F(notify_daemon, NotesForOneKeyCoalesceToTheNewest) {
  start();
  raw_client c(ctx_, eps_.notify);
  ASSERT_EQ(c.call({{"op", "watch"}, {"model", "m"}, {"key", "k"}})["ok"], true);
  daemon_.signal(SIGSTOP);  // reports pile up unread
  for (uint64_t seq = 1; seq <= 300; ++seq) report("m", {"k"}, seq);
  std::this_thread::sleep_for(200ms);
  daemon_.signal(SIGCONT);
  settle();
  std::vector<uint64_t> seqs;
  while (!quiet(c) || !c.notes.empty()) {
    for (auto& n : c.notes) seqs.push_back(n["seq"].get<uint64_t>());
    c.notes.clear();
  }
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs.back(), 300u);
  EXPECT_LT(seqs.size(), 300u) << "reports drained together must coalesce";
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  EXPECT_GT(status()["notes_coalesced"].get<uint64_t>(), 0u);
}

TEST_F(notify_daemon, MalformedInputGetsErrorsAndTheDaemonKeepsAnswering) {
  start({"--max-request-bytes", "4096"});
  raw_client c(ctx_, eps_.notify);
  struct bad_case {
    std::vector<std::string> frames;
    std::string error;
  };
  const std::vector<bad_case> cases = {
      {{"not msgpack \xc1"}, "bad_request"},
      {{pack(json::array({"op", "watch"}))}, "bad_request"},
      {{pack({{"model", "m"}})}, "bad_request"},
      {{pack({{"op", "explode"}})}, "bad_request"},
      {{pack({{"op", "watch"}})}, "bad_request"},
      {{pack({{"op", "watch"}, {"model", 5}})}, "bad_request"},
      {{pack({{"op", "watch"}, {"model", "m"}, {"key", 5}})}, "bad_request"},
      {{pack({{"op", "watch"}, {"model", "m"}, {"kye", "typo"}})}, "bad_request"},
      {{std::string(100'000, '\x91')}, "too_large"},
      {{pack({{"op", "watch"}, {"model", std::string(5000, 'm')}})}, "too_large"},
      {{std::string(3000, '\x91') + "\x01"}, "bad_request"},
      {{pack({{"op", "ping"}}), "extra"}, "bad_request"},
      {{""}, "bad_request"},
  };
  for (const auto& bc : cases) {
    c.send_frames(bc.frames);
    json r = c.recv();
    ASSERT_FALSE(r.is_discarded());
    EXPECT_EQ(r["ok"], false) << r.dump();
    EXPECT_EQ(r["error"], bc.error) << r.dump();
    EXPECT_TRUE(r["message"].is_string());
    EXPECT_TRUE(r["known"].is_boolean()) << r.dump();
    EXPECT_EQ(r["expiry_ms"], 30000) << "every reply, errors too: " << r.dump();
  }
  json r = c.call({{"op", "watch"}, {"model", 5}, {"req", "echo"}});
  EXPECT_EQ(r["req"], "echo") << "req is echoed in error replies too";
  // Bad change reports are counted, never fatal.
  const std::string bad_reports[] = {"garbage", pack({{"model", "m"}}),
                                     pack({{"model", "m"}, {"keys", {1, 2}}, {"seq", 1}}),
                                     pack(json::array())};
  for (const auto& b : bad_reports) push_->send(zmq::buffer(b), zmq::send_flags::none);
  push_->send(zmq::buffer(std::string("a")), zmq::send_flags::sndmore);
  push_->send(zmq::buffer(std::string("b")), zmq::send_flags::none);
  reports_ += 5;
  settle();
  json s = status();
  EXPECT_EQ(s["reports_bad"], 5);
  EXPECT_EQ(s["requests_bad"], cases.size() + 1);
  EXPECT_EQ(s["clients"], 0) << "bad requests register nobody";
  // Still serving.
  EXPECT_EQ(c.call({{"op", "watch"}, {"model", "m"}})["ok"], true);
  report("m", {"k"}, 1);
  EXPECT_EQ(c.note()["seq"], 1);
}

TEST_F(notify_daemon, ReqClientsAreServed) {
  start();
  zmq::socket_t req(ctx_, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.connect(eps_.notify);
  req.send(zmq::buffer(pack({{"op", "ping"}, {"req", 3}})), zmq::send_flags::none);
  zmq::pollitem_t item{req.handle(), 0, ZMQ_POLLIN, 0};
  ASSERT_EQ(zmq::poll(&item, 1, 10s), 1);
  zmq::message_t m;
  ASSERT_TRUE(req.recv(m));
  json r = unpack(m);
  EXPECT_EQ(r["ok"], true);
  EXPECT_EQ(r["op"], "ping");
  EXPECT_EQ(r["req"], 3);
}

// Two clients behind one ROUTER-DEALER proxy share the proxy's connection
// and differ only in their hop frame: each is its own watcher, and its notes
// come back with its hop so the proxy can route them.
TEST_F(notify_daemon, ClientsBehindAProxyAreToldApartByTheirHops) {
  start();
  raw_client proxy(ctx_, eps_.notify);
  auto recv_frames = [&proxy]() {
    std::vector<std::string> frames;
    zmq::pollitem_t item{proxy.socket().handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, 10s) != 1) return frames;
    zmq::message_t m;
    do {
      (void)proxy.socket().recv(m);
      frames.push_back(m.to_string());
    } while (m.more());
    return frames;
  };
  proxy.send_frames(
      {"client-1", "", pack({{"op", "watch"}, {"model", "m"}, {"key", "k1"}, {"req", 1}})});
  auto f = recv_frames();
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0], "client-1");
  EXPECT_EQ(f[1], "");
  EXPECT_EQ(json::from_msgpack(f[2])["req"], 1);
  proxy.send_frames(
      {"client-2", "", pack({{"op", "watch"}, {"model", "m"}, {"key", "k2"}, {"req", 2}})});
  f = recv_frames();
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0], "client-2");
  EXPECT_EQ(json::from_msgpack(f[2])["known"], false) << "client-2 is not client-1";

  report("m", {"k2"}, 8);
  f = recv_frames();
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0], "client-2");
  EXPECT_EQ(f[1], "");
  EXPECT_EQ(json::from_msgpack(f[2]),
            (json{{"note", "changed"}, {"model", "m"}, {"key", "k2"}, {"seq", 8}}));
  report("m", {"k1"}, 9);
  f = recv_frames();
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0], "client-1");
  EXPECT_EQ(json::from_msgpack(f[2])["seq"], 9);
}

TEST_F(notify_daemon, NotifyClientWatchesAndRecoversAfterARestart) {
  start({"--expiry-ms", "3000"});
  transport::notify_client_options o;
  o.reply_timeout = 500ms;
  transport::notify_client nc(ctx_, eps_.notify, o);
  ASSERT_EQ(nc.watch("customers", "c1"), errc::ok);
  ASSERT_EQ(nc.watch("orders"), errc::ok);
  EXPECT_EQ(nc.watches(), 2u);
  report("customers", {"c1"}, 10);
  auto n = nc.next_note(10s);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->model, "customers");
  EXPECT_EQ(n->key, std::optional<std::string>("c1"));
  EXPECT_EQ(n->seq, 10u);
  EXPECT_FALSE(n->resync);

  // Kill the notifier hard and start a new one: it knows nobody.
  const int status_code = daemon_.kill(SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(status_code));
  start({"--expiry-ms", "3000"});

  std::set<std::pair<std::string, std::optional<std::string>>> resynced;
  bool fresh = false;
  uint64_t seq = 100;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!fresh && std::chrono::steady_clock::now() < deadline) {
    report("orders", {"o" + std::to_string(seq)}, seq);
    ++seq;
    while (auto m = nc.next_note(100ms)) {
      if (m->resync) {
        EXPECT_EQ(m->seq, 0u);
        resynced.insert({m->model, m->key});
      } else if (m->model == "orders" && m->seq >= 100) {
        fresh = true;
      }
    }
  }
  EXPECT_TRUE(fresh) << "no note after the restart";
  EXPECT_EQ(resynced, (std::set<std::pair<std::string, std::optional<std::string>>>{
                          {"customers", "c1"}, {"orders", std::nullopt}}));
  EXPECT_GE(nc.recoveries(), 1u);
  // (A connection abandoned during recovery may hold watches until it expires.)
  EXPECT_TRUE(test::eventually([&] { return status()["watches"] == 2; }, 20s));

  ASSERT_EQ(nc.unwatch("orders"), errc::ok);
  EXPECT_EQ(status()["watches"], 1);
  EXPECT_EQ(nc.watches(), 1u);
}

// With its default options (the notifier's default 30 s expiry too) the
// client notices a restarted notifier at its next ping, a second at most
// after the restart, not at the next 10 s heartbeat as before.
TEST_F(notify_daemon, NotifyClientWithDefaultsResyncsSoonAfterARestart) {
  start();
  transport::notify_client nc(ctx_, eps_.notify);
  ASSERT_EQ(nc.watch("customers", "c1"), errc::ok);
  const int status_code = daemon_.kill(SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(status_code));
  start();
  const auto restarted = std::chrono::steady_clock::now();
  std::optional<transport::note> n;
  while (!n && std::chrono::steady_clock::now() - restarted < 30s) n = nc.next_note(100ms);
  ASSERT_TRUE(n.has_value());
  EXPECT_TRUE(n->resync);
  // (A wide bound: a ping a second, plus a reply timeout of 3 s if the
  // first ping was lost with the old connection.)
  EXPECT_LT(std::chrono::steady_clock::now() - restarted, 8s);
  report("customers", {"c1"}, 42);
  n = nc.next_note(10s);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->seq, 42u);
}

TEST_F(notify_daemon, NotifyClientRewatchesAfterItWasForgotten) {
  start({"--expiry-ms", "500"});
  transport::notify_client nc(ctx_, eps_.notify);
  ASSERT_EQ(nc.watch("m", "k"), errc::ok);
  // The application does not call next_note for a while: no heartbeats.
  ASSERT_TRUE(test::eventually([&] { return status()["clients_expired"] == 1; }, 20s));
  // next_note pings (the interval is a third of the expiry), hears known=false,
  // watches again and says so with a resync note.
  std::optional<transport::note> n;
  ASSERT_TRUE(test::eventually([&] { return (n = nc.next_note(100ms)).has_value(); }, 20s));
  EXPECT_TRUE(n->resync);
  EXPECT_EQ(n->key, std::optional<std::string>("k"));
  EXPECT_EQ(status()["watches"], 1);
  report("m", {"k"}, 5);
  std::optional<transport::note> m;
  ASSERT_TRUE(test::eventually([&] { return (m = nc.next_note(100ms)).has_value(); }, 20s));
  EXPECT_EQ(m->seq, 5u);
  EXPECT_FALSE(m->resync);
}

TEST_F(notify_daemon, NotifyClientReportsTheNotifiersRefusal) {
  start({"--max-watches", "1"});
  transport::notify_client nc(ctx_, eps_.notify);
  EXPECT_EQ(nc.watch("m", "a"), errc::ok);
  EXPECT_EQ(nc.watch("m", "b"), errc::overloaded);
  EXPECT_EQ(nc.watch("", std::nullopt), errc::bad_request);
  EXPECT_EQ(nc.watches(), 1u);
}

TEST_F(notify_daemon, NotifyClientWatchTimesOutWhileTheNotifierIsDownThenRecovers) {
  transport::notify_client_options o;
  o.reply_timeout = 300ms;
  transport::notify_client nc(ctx_, eps_.notify, o);
  EXPECT_EQ(nc.watch("m", "k", 300ms), errc::timeout);
  EXPECT_EQ(nc.watches(), 1u) << "kept, registered once the notifier answers";
  start();
  std::optional<transport::note> n;
  ASSERT_TRUE(test::eventually([&] { return (n = nc.next_note(100ms)).has_value(); }, 20s));
  EXPECT_TRUE(n->resync);
  report("m", {"k"}, 3);
  std::optional<transport::note> m;
  ASSERT_TRUE(test::eventually([&] { return (m = nc.next_note(100ms)).has_value(); }, 20s));
  EXPECT_EQ(m->seq, 3u);
}

TEST_F(notify_daemon, TcpNeedsCurveAndAdmitsOnlyAllowedClients) {
  const int port = free_port();
  ASSERT_GT(port, 0);
  const std::string tcp = "tcp://127.0.0.1:" + std::to_string(port);
  test::child_process plain({std::string(RILL_BIN_DIR) + "/rill-notify", "--data",
                             (dir_.path() / "plain").string(), "--notify", tcp},
                            (dir_.path() / "plain.log").string());
  const int st = plain.wait(20s);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2)
      << "tcp:// without CURVE must be refused, as configuration (not restarted)";

  // transport/security.cc reads '#' as a comment and '=' as a separator in
  // key files and allow-lists, but both are Z85 digits: use keys without
  // them until that is fixed.
  auto key = [] {
    for (;;) {
      auto kp = transport::generate_key_pair();
      if ((kp.public_z85 + kp.secret_z85).find_first_of("#=") == std::string::npos) return kp;
    }
  };
  const auto server = key();
  const auto client = key();
  const auto stranger = key();
  const auto key_file = (dir_.path() / "server.key").string();
  const auto allow_file = (dir_.path() / "allow.txt").string();
  transport::save_key_file(key_file, server, true);
  std::ofstream(allow_file) << client.public_z85 << "\n";
  const transport::client_security good{server.public_z85, client};
  const transport::client_security bad{server.public_z85, stranger};
  sec_ = &good;
  eps_.notify = tcp;
  start({"--notify", tcp, "--curve-key", key_file, "--curve-allow", allow_file});

  transport::notify_client allowed(ctx_, tcp, {}, &good);
  ASSERT_EQ(allowed.watch("m", "k"), errc::ok);
  report("m", {"k"}, 8);
  auto n = allowed.next_note(10s);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->seq, 8u);

  transport::notify_client_options o;
  o.reply_timeout = 300ms;
  transport::notify_client refused(ctx_, tcp, o, &bad);
  EXPECT_EQ(refused.watch("m", "k", 5s), errc::forbidden) << "a stranger is told why";
  EXPECT_EQ(status()["clients"], 1) << "the stranger never got in";
  report("m", {"k"}, 9);
  auto n9 = allowed.next_note(10s);
  ASSERT_TRUE(n9.has_value());
  EXPECT_EQ(n9->seq, 9u);
  EXPECT_FALSE(refused.next_note(500ms).has_value()) << "and is sent no note";
}

TEST_F(notify_daemon, PidFileRunDirSecondInstanceAndCleanExit) {
  start();
  const auto pid_path = dir_.path() / "run" / "rill-notify.pid";
  std::ifstream in(pid_path);
  pid_t pid = 0;
  in >> pid;
  EXPECT_EQ(pid, daemon_.pid());
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() / "run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  test::child_process second(
      {std::string(RILL_BIN_DIR) + "/rill-notify", "--data", dir_.path().string()},
      (dir_.path() / "second.log").string());
  const int s2 = second.wait(20s);
  EXPECT_TRUE(WIFEXITED(s2) && WEXITSTATUS(s2) == 1) << "a second instance must refuse to start";
  EXPECT_TRUE(ping()) << "the first instance is untouched";
  const int status_code = daemon_.kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status_code) && WEXITSTATUS(status_code) == 0);
  EXPECT_FALSE(std::filesystem::exists(pid_path));
}

TEST_F(notify_daemon, ConfigFileAndFlags) {
  const auto cfg = dir_.path() / "notify.json";
  std::ofstream(cfg) << R"({"expiry_ms": 4000, "notify": {"client_queue": 7}, "core": {"x": 1}})";
  start({"--config", cfg.string(), "--client-queue", "9"});
  json s = status();
  EXPECT_EQ(s["expiry_ms"], 4000);
  EXPECT_EQ(s["client_queue"], 9) << "flags override the file";

  std::ofstream(cfg) << R"({"expiry_msec": 4000})";
  test::child_process bad({std::string(RILL_BIN_DIR) + "/rill-notify", "--data",
                           (dir_.path() / "other").string(), "--config", cfg.string()},
                          (dir_.path() / "bad.log").string());
  int st = bad.wait(20s);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << "unknown config keys are refused";
  test::child_process bad_flag({std::string(RILL_BIN_DIR) + "/rill-notify", "--data",
                                (dir_.path() / "other").string(), "--expiry-ms", "5"},
                               (dir_.path() / "bad.log").string());
  st = bad_flag.wait(20s);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}

}  // namespace
}  // namespace rill
