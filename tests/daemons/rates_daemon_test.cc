// rill-rates through its REP socket, started as a child process from
// RILL_BIN_DIR on a temporary data directory (DOMAIN.md, the exchange-rates
// saga's external service).
#include <signal.h>

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "tests/support/child_process.h"
#include "transport/endpoints.h"
#include "transport/security.h"

namespace rill {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::string pack(const json& j) {
  auto v = json::to_msgpack(j);
  return std::string(v.begin(), v.end());
}

// The shipped rates: units of each currency per 1 EUR.
constexpr double kUsd = 1.0705, kGbp = 0.84638, kJpy = 172.28;

class rates_daemon : public ::testing::Test {
 protected:
  void TearDown() override {
    if (daemon_.running()) {
      const int status = daemon_.kill(SIGTERM);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
    }
  }
  std::string endpoint() const {
    if (!tcp_endpoint_.empty()) return tcp_endpoint_;
    return "ipc://" + (transport::run_dir(dir_.path()) / "rates").string();
  }
  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {std::string(RILL_BIN_DIR) + "/rill-rates", "--data",
                                     dir_.path().string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    daemon_.start(argv, (dir_.path() / "rates.log").string());
    ASSERT_TRUE(test::eventually(
        [&] {
          return !ask_raw({pack({{"op", "ping"}})}, 200ms).is_discarded();
        },
        20s))
        << "rill-rates did not come up";
  }
  // Sends `frames` after the empty delimiter on a fresh DEALER (as a REQ
  // would) and returns the decoded reply, or discarded json on timeout.
  json ask_raw(const std::vector<std::string>& frames, std::chrono::milliseconds timeout = 10s) {
    zmq::socket_t s(ctx_, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    if (client_keys_) transport::apply_client_security(s, endpoint(), client_keys_);
    s.connect(endpoint());
    s.send(zmq::str_buffer(""), zmq::send_flags::sndmore);
    for (size_t i = 0; i < frames.size(); ++i)
      s.send(zmq::buffer(frames[i]),
             i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return json::value_t::discarded;
    std::vector<zmq::message_t> parts;
    zmq::message_t m;
    do {
      (void)s.recv(m);
      parts.push_back(std::move(m));
    } while (parts.back().more());
    EXPECT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].size(), 0u);
    const auto& b = parts.back();
    return json::from_msgpack(static_cast<const uint8_t*>(b.data()),
                              static_cast<const uint8_t*>(b.data()) + b.size(), true, false);
  }
  json ask(const json& j) { return ask_raw({pack(j)}); }
  json rate(const std::string& base, const std::string& currency) {
    return ask({{"base", base}, {"currency", currency}});
  }

  test::temp_dir dir_{"rill-rates"};
  std::string tcp_endpoint_;                                 // set: serve there (CURVE)
  const transport::client_security* client_keys_ = nullptr;  // for ask_raw on tcp_endpoint_
  zmq::context_t ctx_;
  test::child_process daemon_;
};

// config/default.json's "_doc" keys are comments to every daemon.
TEST_F(rates_daemon, StartsWithTheShippedConfigFile) {
  start({"--config", RILL_SOURCE_DIR "/config/default.json"});
  EXPECT_EQ(ask_raw({pack({{"op", "ping"}})})["ok"], true);
}

// A copy of the binary with no config/rates.json beside it (installed
// elsewhere, the checkout gone) answers from the copy built into it.
TEST_F(rates_daemon, WithoutAFileNearbyItUsesTheBuiltInRates) {
  const auto bin = dir_.path() / "opt" / "bin";
  std::filesystem::create_directories(bin);
  std::filesystem::copy_file(std::string(RILL_BIN_DIR) + "/rill-rates", bin / "rill-rates");
  daemon_.start({(bin / "rill-rates").string(), "--data", dir_.path().string()},
                (dir_.path() / "rates.log").string());
  ASSERT_TRUE(test::eventually(
      [&] {
        return !ask_raw({pack({{"op", "ping"}})}, 200ms).is_discarded();
      },
      20s))
      << "rill-rates did not come up";
  EXPECT_NEAR(rate("EUR", "USD")["rate"].get<double>(), 1 / kUsd, 1e-12);
  EXPECT_NEAR(rate("JPY", "GBP")["rate"].get<double>(), kJpy / kGbp, 1e-9);
  // SIGHUP has no file to reload: it keeps serving.
  ::kill(daemon_.pid(), SIGHUP);
  EXPECT_NEAR(rate("GBP", "USD")["rate"].get<double>(), kGbp / kUsd, 1e-12);
  std::ifstream log(dir_.path() / "rates.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("rates built in (config/rates.json)"), std::string::npos) << text;
}

TEST_F(rates_daemon, KnownPairsCrossRatesAndIdentity) {
  start();
  json r = rate("EUR", "USD");
  EXPECT_EQ(r["ok"], true) << r.dump();
  EXPECT_EQ(r["base"], "EUR");
  EXPECT_EQ(r["currency"], "USD");
  EXPECT_NEAR(r["rate"].get<double>(), 1 / kUsd, 1e-12) << "EUR per 1 USD";
  EXPECT_NEAR(rate("USD", "EUR")["rate"].get<double>(), kUsd, 1e-12);
  EXPECT_NEAR(rate("GBP", "USD")["rate"].get<double>(), kGbp / kUsd, 1e-12);
  EXPECT_NEAR(rate("JPY", "GBP")["rate"].get<double>(), kJpy / kGbp, 1e-9);
  EXPECT_EQ(rate("CHF", "CHF")["rate"], 1.0);
  r = rate("eur", "usd");
  EXPECT_EQ(r["base"], "EUR") << "codes are case-insensitive, answered in upper case";
  EXPECT_NEAR(r["rate"].get<double>(), 1 / kUsd, 1e-12);
  r = ask({{"base", "EUR"}, {"currency", "GBP"}, {"req", {{"id", 7}}}});
  EXPECT_EQ(r["req"], (json{{"id", 7}}));
}

TEST_F(rates_daemon, UnknownPairIsNotFound) {
  start();
  for (auto [b, c] : {std::pair{"EUR", "XYZ"}, std::pair{"ABC", "USD"}}) {
    json r = rate(b, c);
    EXPECT_EQ(r["ok"], false);
    EXPECT_EQ(r["error"], "not_found");
    EXPECT_TRUE(r["message"].is_string());
  }
}

TEST_F(rates_daemon, MalformedRequestsAreBadRequestAndTheDaemonKeepsAnswering) {
  start();
  const std::vector<std::vector<std::string>> cases = {
      {"not msgpack \xc1"},
      {pack(json::array({"EUR", "USD"}))},
      {pack({{"base", "EUR"}})},
      {pack({{"base", "EUR"}, {"currency", 840}})},
      {pack({{"base", "EURO"}, {"currency", "USD"}})},
      {pack({{"base", "E1R"}, {"currency", "USD"}})},
      {pack({{"base", "EUR"}, {"currency", "USD"}, {"amount", 5}})},
      {pack({{"op", "reboot"}})},
      {pack({{"base", "EUR"}, {"currency", "USD"}}), "extra frame"},
      {""},
      {std::string(50'000, '\x91') + "\x01"},
  };
  for (const auto& frames : cases) {
    json r = ask_raw(frames);
    ASSERT_FALSE(r.is_discarded());
    EXPECT_EQ(r["ok"], false) << r.dump();
    EXPECT_EQ(r["error"], "bad_request") << r.dump();
  }
  json big = ask_raw({pack({{"base", std::string(100'000, 'x')}, {"currency", "USD"}})});
  EXPECT_EQ(big["error"], "too_large");
  EXPECT_EQ(rate("EUR", "USD")["ok"], true);
  json s = ask({{"op", "status"}});
  EXPECT_EQ(s["ok"], true);
  EXPECT_EQ(s["bad_requests"], cases.size() + 1);
  // req comes back even when the request is refused before req is read (a
  // bad field before it, too large, extra frames); it did not.
  for (const auto& frames : std::vector<std::vector<std::string>>{
           {pack({{"base", 5}, {"req", 7}})},
           {pack({{"amount", 5}, {"base", "EUR"}, {"currency", "USD"}, {"req", 7}})},
           {pack({{"base", "EUR"}, {"currency", "USD"}, {"req", 7}}), "extra frame"},
           {pack({{"base", std::string(100'000, 'x')}, {"currency", "USD"}, {"req", 7}})}}) {
    json r = ask_raw(frames);
    EXPECT_EQ(r["ok"], false) << r.dump();
    EXPECT_EQ(r["req"], 7) << r.dump();
  }
}

TEST_F(rates_daemon, ReqSocketAndPing) {
  start();
  zmq::socket_t req(ctx_, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.connect(endpoint());
  for (int i = 0; i < 3; ++i) {
    req.send(zmq::buffer(pack({{"op", "ping"}, {"req", i}})), zmq::send_flags::none);
    zmq::pollitem_t item{req.handle(), 0, ZMQ_POLLIN, 0};
    ASSERT_EQ(zmq::poll(&item, 1, 10s), 1);
    zmq::message_t m;
    ASSERT_TRUE(req.recv(m));
    json r = json::from_msgpack(static_cast<const uint8_t*>(m.data()),
                                static_cast<const uint8_t*>(m.data()) + m.size());
    EXPECT_EQ(r, (json{{"ok", true}, {"op", "ping"}, {"req", i}}));
  }
}

TEST_F(rates_daemon, FailEveryNthRequest) {
  start({"--fail-every", "3"});
  std::vector<std::string> outcomes;
  for (int i = 0; i < 7; ++i) {
    json r = rate("EUR", "USD");
    outcomes.push_back(r["ok"] == true ? "ok" : r["error"].get<std::string>());
  }
  EXPECT_EQ(outcomes,
            (std::vector<std::string>{"ok", "ok", "unavailable", "ok", "ok", "unavailable", "ok"}));
  EXPECT_EQ(ask({{"op", "ping"}})["ok"], true) << "pings are not counted";
  EXPECT_EQ(rate("EUR", "USD")["ok"], true);
  EXPECT_EQ(rate("EUR", "USD")["error"], "unavailable");
}

TEST_F(rates_daemon, DelayHoldsTheAnswerBack) {
  start({"--delay-ms", "300"});
  const auto t0 = std::chrono::steady_clock::now();
  json r = rate("EUR", "GBP");
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r["ok"], true);
  EXPECT_GE(took, 300ms) << "the answer came before the delay was over";
}

TEST_F(rates_daemon, RatesFileFlagReloadOnSighupAndBadFiles) {
  const auto file = dir_.path() / "rates.json";
  std::ofstream(file) << R"({"anchor": "EUR", "rates": {"USD": 2.0, "SEK": 10}})";
  start({"--rates", file.string()});
  EXPECT_NEAR(rate("SEK", "USD")["rate"].get<double>(), 5.0, 1e-12);
  EXPECT_EQ(rate("EUR", "GBP")["error"], "not_found");

  std::ofstream(file) << R"({"anchor": "EUR", "rates": {"USD": 4.0}})";
  daemon_.signal(SIGHUP);
  ASSERT_TRUE(test::eventually([&] { return rate("USD", "EUR")["rate"] == 4.0; }, 20s));
  std::ofstream(file) << R"({"anchor": "EUR", "rates": {"USD": -1}})";
  daemon_.signal(SIGHUP);
  EXPECT_TRUE(test::eventually([&] { return ask({{"op", "status"}})["reloads"] == 1; }, 5s));
  EXPECT_EQ(rate("USD", "EUR")["rate"], 4.0) << "a bad file keeps the old rates";

  for (const char* bad : {R"({"rates": {"USD": 1}})", R"({"anchor": "EUR", "rates": {"usd": 1}})",
                          R"({"anchor": "EUR", "rates": {"USD": 0}})", "[1, 2]", "{", "MISSING"}) {
    const auto bad_file = dir_.path() / "bad.json";
    std::filesystem::remove(bad_file);
    if (std::string(bad) != "MISSING") std::ofstream(bad_file) << bad;
    test::child_process p({std::string(RILL_BIN_DIR) + "/rill-rates", "--data",
                           (dir_.path() / "other").string(), "--rates", bad_file.string()},
                          (dir_.path() / "bad.log").string());
    const int st = p.wait(20s);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << bad << ": a refused configuration";
  }
}

TEST_F(rates_daemon, TcpWithoutCurveIsRefused) {
  test::child_process p({std::string(RILL_BIN_DIR) + "/rill-rates", "--data", dir_.path().string(),
                         "--endpoint", "tcp://127.0.0.1:1"},
                        (dir_.path() / "tcp.log").string());
  const int st = p.wait(20s);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << "configuration refused: not restarted";
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "run" / "rill-rates.pid"));
}

TEST_F(rates_daemon, PidFileAndCleanExit) {
  start();
  const auto pid_path = dir_.path() / "run" / "rill-rates.pid";
  std::ifstream in(pid_path);
  pid_t pid = 0;
  in >> pid;
  EXPECT_EQ(pid, daemon_.pid());
  const int status = daemon_.kill(SIGINT);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_FALSE(std::filesystem::exists(pid_path));
}

}  // namespace
}  // namespace rill

namespace rill {
namespace {

// On tcp:// with CURVE, a client whose key is not on the allow-list is told
// `forbidden` with its req, as on rill-core's endpoints (it used to get no
// answer at all), and its request is not served; a client without CURVE
// gets no connection.
TEST_F(rates_daemon, ACurveKeyNotOnTheAllowListIsToldForbidden) {
  const auto server = transport::generate_key_pair();
  const auto client = transport::generate_key_pair();
  const auto stranger = transport::generate_key_pair();
  transport::save_key_file((dir_.path() / "server.key").string(), server, true);
  transport::save_key_file((dir_.path() / "client.pub").string(), client, false);
  {
    zmq::socket_t probe(ctx_, zmq::socket_type::router);
    probe.bind("tcp://127.0.0.1:*");
    tcp_endpoint_ = probe.get(zmq::sockopt::last_endpoint);
  }
  const transport::client_security good{server.public_z85, client};
  const transport::client_security bad{server.public_z85, stranger};
  client_keys_ = &good;
  start({"--endpoint", tcp_endpoint_, "--curve-key", (dir_.path() / "server.key").string(),
         "--curve-allow", (dir_.path() / "client.pub").string()});
  EXPECT_EQ(rate("USD", "EUR")["rate"], kUsd);

  client_keys_ = &bad;
  for (const json& request : {json{{"base", "USD"}, {"currency", "EUR"}, {"req", "r1"}},
                              json{{"op", "ping"}, {"req", 7}}, json{{"op", "status"}}}) {
    const json reply = ask(request);
    ASSERT_FALSE(reply.is_discarded()) << request.dump() << ": no answer";
    EXPECT_EQ(reply["ok"], false) << reply.dump();
    EXPECT_EQ(reply["error"], "forbidden") << reply.dump();
    EXPECT_FALSE(reply.contains("rate")) << reply.dump();
    if (request.contains("req"))
      EXPECT_EQ(reply["req"], request["req"]) << reply.dump();
    else
      EXPECT_FALSE(reply.contains("req")) << reply.dump();
  }

  {
    zmq::socket_t plain(ctx_, zmq::socket_type::dealer);
    plain.set(zmq::sockopt::linger, 0);
    plain.connect(tcp_endpoint_);
    plain.send(zmq::str_buffer(""), zmq::send_flags::sndmore);
    const std::string ping = pack({{"op", "ping"}});
    plain.send(zmq::buffer(ping), zmq::send_flags::none);
    zmq::pollitem_t item{plain.handle(), 0, ZMQ_POLLIN, 0};
    EXPECT_EQ(zmq::poll(&item, 1, 500ms), 0) << "a client without CURVE gets no connection";
  }

  client_keys_ = &good;
  const json st = ask({{"op", "status"}});
  EXPECT_EQ(st["ok"], true) << st.dump();
  EXPECT_EQ(st["forbidden_requests"], 3) << st.dump();
  EXPECT_EQ(st["lookups"], 1) << st.dump() << ": a forbidden request is not served";
}

}  // namespace
}  // namespace rill
