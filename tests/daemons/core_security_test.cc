// DESIGN.md "Security": D/run is private; tcp:// endpoints need CURVE and an
// allow-list; unknown or plain clients get no access to commands or events.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "tests/support/child_process.h"
#include "tests/support/daemon_probe.h"
#include "transport/client.h"
#include "transport/endpoints.h"
#include "transport/security.h"

namespace rill {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

int free_port() {
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::router);
  s.bind("tcp://127.0.0.1:*");
  auto ep = s.get(zmq::sockopt::last_endpoint);
  return std::stoi(ep.substr(ep.rfind(':') + 1));
}

// A daemon started from RILL_BIN_DIR with `argv` (argv[0] its name,
// argv[2] its data directory), and the pid file that says it is up.
struct daemon_start {
  std::vector<std::string> argv;
  std::string pid_file;
};

// Starts each daemon in turn, waits for its pid file, runs `check` on it
// while it runs, then stops it.
void with_each_daemon(
    const test::temp_dir& dir, const std::vector<daemon_start>& daemons,
    const std::function<void(const daemon_start&, const std::filesystem::path&)>& check) {
  for (const daemon_start& x : daemons) {
    std::vector<std::string> argv = x.argv;
    argv[0] = std::string(RILL_BIN_DIR) + "/" + argv[0];
    const std::filesystem::path data = argv[2];
    test::child_process p(argv, (dir.path() / (x.argv[0] + ".log")).string());
    ASSERT_TRUE(
        test::eventually([&] { return std::filesystem::exists(data / "run" / x.pid_file); }, 20s))
        << x.argv[0];
    check(x, data);
  }
}

TEST(core_security, DataAndRunDirectoriesArePrivate) {
  test::temp_dir dir;
  auto data = dir.path() / "d";
  test::child_process core({std::string(RILL_BIN_DIR) + "/rill-core", "--data", data.string(),
                            "--segment-size", "1048576"},
                           (dir.path() / "core.log").string());
  ASSERT_TRUE(test::eventually([&] { return std::filesystem::exists(data / "run" / "rill-core.pid"); }));
  struct stat st {};
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((data / "run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

// Every daemon that creates D makes it private, not only rill-core (an
// outside probe found rill-proj and rill-notify making it 0755).
TEST(core_security, EveryDaemonCreatesAPrivateDataDirectory) {
  test::temp_dir dir;
  const auto d = [&](const std::string& name) { return (dir.path() / name).string(); };
  with_each_daemon(
      dir,
      {{{"rill-notify", "--data", d("n")}, "rill-notify.pid"},
       {{"rill-rates", "--data", d("r")}, "rill-rates.pid"},
       {{"rill-proj", "--data", d("p"), "--models", "customers", "--notify-in", "none"},
        "rill-proj-customers.pid"}},
      [](const daemon_start& x, const std::filesystem::path& data) {
        struct stat st {};
        ASSERT_EQ(::stat(data.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0700u) << x.argv[0];
        ASSERT_EQ(::stat((data / "run").c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0700u) << x.argv[0];
      });
}

// A data directory or an ipc:// endpoint's folder that exists keeps its
// mode: every daemon made an existing D (and an endpoint's folder) 0700, so
// `--data /tmp` or `ipc:///tmp/x` took /tmp from every other user. What a
// daemon creates (D/run, a missing endpoint folder) is 0700.
TEST(core_security, AnExistingDirectoryKeepsItsMode) {
  test::temp_dir dir;
  const auto shared = [&](const std::string& name) {
    const auto p = dir.path() / name;
    std::filesystem::create_directories(p);
    EXPECT_EQ(::chmod(p.c_str(), 01777), 0);
    return p;
  };
  const auto mode = [](const std::filesystem::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  };
  const auto socks = shared("socks");
  const auto fresh = dir.path() / "fresh" / "sub";
  const auto d = [&](const std::string& name) { return shared(name).string(); };
  const auto ipc = [](const std::filesystem::path& p) { return "ipc://" + p.string(); };
  with_each_daemon(
      dir,
      {{{"rill-core", "--data", d("c"), "--segment-size", "1048576", "--command",
         ipc(socks / "cmd"), "--events", ipc(fresh / "ev")},
        "rill-core.pid"},
       {{"rill-notify", "--data", d("n")}, "rill-notify.pid"},
       {{"rill-rates", "--data", d("r"), "--endpoint", ipc(socks / "rates")}, "rill-rates.pid"},
       {{"rill-proj", "--data", d("p"), "--models", "customers", "--notify-in", "none"},
        "rill-proj-customers.pid"}},
      [&](const daemon_start& x, const std::filesystem::path& data) {
        // The pid file can come before the bind: wait for the socket.
        const auto sock = x.argv[0] == "rill-core"    ? socks / "cmd"
                          : x.argv[0] == "rill-rates" ? socks / "rates"
                                                      : std::filesystem::path();
        if (!sock.empty()) {
          EXPECT_TRUE(test::eventually([&] { return std::filesystem::exists(sock); }, 20s)) << sock;
        }
        EXPECT_EQ(mode(data), 01777u) << x.argv[0] << ": the data directory existed";
        EXPECT_EQ(mode(data / "run"), 0700u) << x.argv[0];
        EXPECT_EQ(mode(socks), 01777u) << x.argv[0] << ": an endpoint's folder existed";
      });
  EXPECT_EQ(mode(fresh), 0700u) << "a missing endpoint folder is created private";
}

TEST(core_security, TcpWithoutKeysIsRefusedAtStart) {
  test::temp_dir dir;
  test::child_process core({std::string(RILL_BIN_DIR) + "/rill-core", "--data", dir.path().string(),
                            "--command", "tcp://127.0.0.1:" + std::to_string(free_port())},
                           (dir.path() / "core.log").string());
  int status = core.wait(20s);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2) << "configuration refused: not restarted";
}

TEST(core_security, CurveAdmitsOnlyAllowedClients) {
  test::temp_dir dir;
  auto server = transport::generate_key_pair();
  auto client = transport::generate_key_pair();
  auto stranger = transport::generate_key_pair();
  transport::save_key_file((dir.path() / "server.key").string(), server, true);
  transport::save_key_file((dir.path() / "client.pub").string(), client, false);
  auto cmd_ep = "tcp://127.0.0.1:" + std::to_string(free_port());
  auto ev_ep = "tcp://127.0.0.1:" + std::to_string(free_port());
  auto rp_ep = "tcp://127.0.0.1:" + std::to_string(free_port());
  test::child_process core({std::string(RILL_BIN_DIR) + "/rill-core", "--data",
                            (dir.path() / "d").string(), "--segment-size", "1048576", "--command",
                            cmd_ep, "--events", ev_ep, "--replay", rp_ep, "--curve-key",
                            (dir.path() / "server.key").string(), "--curve-allow",
                            (dir.path() / "client.pub").string()},
                           (dir.path() / "core.log").string());
  zmq::context_t ctx;
  transport::client_security good{server.public_z85, client};
  transport::client_security bad{server.public_z85, stranger};
  ASSERT_TRUE(test::eventually(
      [&] {
        transport::rpc_client c(ctx, cmd_ep, &good);
        auto r = c.call({{"op", "ping"}}, 300ms);
        return r && (*r)["ok"] == true;
      },
      20s));
  transport::rpc_client ok_client(ctx, cmd_ep, &good);
  auto r = ok_client.call({{"cmd", "CREATE_CUSTOMER"}, {"agg", "customer"}, {"id", "c1"},
                           {"data", {{"name", "A"}, {"email", "a@b"}}}});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["ok"], true);

  // A client with a key not on the list is told `forbidden` (req echoed) and
  // nothing it sends is carried out; a client without CURVE gets nothing.
  auto head = [&] {
    auto st = ok_client.call({{"op", "status"}});
    return st ? (*st)["head"].get<uint64_t>() : UINT64_MAX;
  };
  const uint64_t head_before = head();
  {
    auto st0 = ok_client.call({{"op", "status"}});
    ASSERT_TRUE(st0);
    EXPECT_EQ((*st0)["unknown_key_handshakes"], 0) << "allowed keys are not counted";
  }
  transport::rpc_client stranger_client(ctx, cmd_ep, &bad);
  auto ping = stranger_client.call({{"op", "ping"}, {"req", 7}}, 5000ms);
  ASSERT_TRUE(ping.has_value());
  EXPECT_EQ((*ping)["ok"], false);
  EXPECT_EQ((*ping)["error"], "forbidden");
  EXPECT_EQ((*ping)["req"], 7);
  auto create = stranger_client.call({{"cmd", "CREATE_CUSTOMER"},
                                      {"agg", "customer"},
                                      {"id", "intruder"},
                                      {"data", {{"name", "I"}, {"email", "i@x"}}}},
                                     5000ms);
  ASSERT_TRUE(create.has_value());
  EXPECT_EQ((*create)["error"], "forbidden");
  EXPECT_EQ(head(), head_before) << "nothing a refused client sends is appended";
  auto st = ok_client.call({{"op", "status"}});
  ASSERT_TRUE(st);
  EXPECT_EQ((*st)["forbidden_requests"], 2) << st->dump();
  // (rill's own clients refuse tcp:// without keys; a raw socket does not.)
  EXPECT_FALSE(test::plain_answers(ctx, cmd_ep, {{"op", "ping"}}, 1500ms));
  transport::rpc_client stranger_replay(ctx, rp_ep, &bad);
  auto replay = stranger_replay.call({{"from", 1}, {"req", "r"}}, 5000ms);
  ASSERT_TRUE(replay.has_value());
  EXPECT_EQ((*replay)["error"], "forbidden");
  EXPECT_EQ((*replay)["req"], "r");
  EXPECT_FALSE(replay->contains("events")) << "no event reaches a refused client";
  EXPECT_FALSE(test::plain_answers(ctx, rp_ep, {{"from", 1}}, 1500ms));

  // Events: the allowed subscriber gets them, the stranger does not.
  auto subscribe = [&](const transport::client_security* sec) {
    zmq::socket_t s(ctx, zmq::socket_type::sub);
    s.set(zmq::sockopt::linger, 0);
    transport::apply_client_security(s, ev_ep, sec);
    s.set(zmq::sockopt::subscribe, "");
    s.connect(ev_ep);
    return s;
  };
  auto good_sub = subscribe(&good);
  auto bad_sub = subscribe(&bad);
  std::this_thread::sleep_for(500ms);
  for (int i = 0; i < 5; ++i)
    ok_client.call({{"cmd", "CREATE_CUSTOMER"}, {"agg", "customer"}, {"id", "x" + std::to_string(i)},
                    {"data", {{"name", "A"}, {"email", "a@b"}}}});
  zmq::pollitem_t gi{good_sub.handle(), 0, ZMQ_POLLIN, 0};
  EXPECT_GT(zmq::poll(&gi, 1, 3s), 0) << "the allowed subscriber receives events";
  zmq::pollitem_t bi{bad_sub.handle(), 0, ZMQ_POLLIN, 0};
  EXPECT_EQ(zmq::poll(&bi, 1, 1s), 0) << "the stranger receives nothing";
  // The stranger's three connections (command, replay, feed) each shook
  // hands with its key; the allowed client's never count.
  st = ok_client.call({{"op", "status"}});
  ASSERT_TRUE(st);
  EXPECT_GE((*st)["unknown_key_handshakes"].get<uint64_t>(), 3u) << st->dump();
}

}  // namespace
}  // namespace rill

namespace rill {
namespace {

TEST(key_files, KeysWithHashAndEqualsSignsRoundTrip) {
  test::temp_dir dir;
  // Z85 keys may contain '#' and '='; generate until several such keys were seen.
  int tricky = 0;
  std::ofstream allow(dir.path() / "allow.txt");
  allow << "# allowed clients\n";
  std::vector<std::string> pubs;
  for (int i = 0; i < 200 && tricky < 5; ++i) {
    auto kp = transport::generate_key_pair();
    if (kp.public_z85.find_first_of("#=") == std::string::npos &&
        kp.secret_z85.find_first_of("#=") == std::string::npos)
      continue;
    ++tricky;
    auto file = (dir.path() / ("k" + std::to_string(i) + ".key")).string();
    transport::save_key_file(file, kp, true);
    auto back = transport::load_key_file(file);
    EXPECT_EQ(back.public_z85, kp.public_z85);
    EXPECT_EQ(back.secret_z85, kp.secret_z85);
    allow << kp.public_z85 << "\n";
    pubs.push_back(kp.public_z85);
  }
  allow.close();
  EXPECT_EQ(tricky, 5);
  EXPECT_EQ(transport::load_allow_list((dir.path() / "allow.txt").string()), pubs);
}

// Key files that cannot be right are refused with a message that never
// shows a secret key: a pair whose public key is not the secret's (the
// server would answer under a key no client expects), a directory, an
// allow-list holding a secret key, an empty allow-list on a tcp:// server.
TEST(key_files, MismatchedPairsDirectoriesAndSecretsInAllowListsAreRefused) {
  test::temp_dir dir;
  const auto a = transport::generate_key_pair();
  const auto b = transport::generate_key_pair();
  const auto mixed = (dir.path() / "mixed.key").string();
  std::ofstream(mixed) << "public = " << a.public_z85 << "\nsecret = " << b.secret_z85 << "\n";
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const transport::security_error& e) {
      return std::string(e.what());
    }
    return std::string("(nothing thrown)");
  };
  EXPECT_NE(message([&] { transport::load_key_file(mixed); }).find("not one pair"),
            std::string::npos);
  EXPECT_NE(message([&] { transport::load_key_file(dir.path().string()); }).find("directory"),
            std::string::npos);
  const auto allow = (dir.path() / "allow.txt").string();
  std::ofstream(allow) << a.public_z85 << "\nsecret = " << b.secret_z85 << "\n";
  const std::string said = message([&] { transport::load_allow_list(allow); });
  EXPECT_NE(said.find("line 2: a secret key"), std::string::npos) << said;
  EXPECT_EQ(said.find(b.secret_z85), std::string::npos) << "the secret key is shown: " << said;
  std::ofstream(allow, std::ios::trunc) << "not-a-key\n";
  EXPECT_NE(message([&] { transport::load_allow_list(allow); }).find("line 1"), std::string::npos);
  // A secret key others can read or write is refused, like ssh's private
  // keys; a public key file may be world-readable; a secret key file given
  // where a peer's public key belongs is refused.
  const auto loose = (dir.path() / "loose.key").string();
  transport::save_key_file(loose, a, true);
  EXPECT_EQ(transport::load_key_file(loose).secret_z85, a.secret_z85);
  for (auto mode : {0640, 0604, 0620}) {
    std::filesystem::permissions(loose, std::filesystem::perms(mode));
    const std::string loose_said = message([&] { transport::load_key_file(loose); });
    EXPECT_NE(loose_said.find("chmod 600"), std::string::npos) << mode << ": " << loose_said;
    EXPECT_EQ(loose_said.find(a.secret_z85), std::string::npos) << loose_said;
  }
  std::filesystem::permissions(loose, std::filesystem::perms(0400));
  EXPECT_EQ(transport::load_key_file(loose).public_z85, a.public_z85);
  const auto pub = (dir.path() / "a.pub").string();
  transport::save_key_file(pub, a, false);
  std::filesystem::permissions(pub, std::filesystem::perms(0644));
  EXPECT_EQ(transport::load_public_key_file(pub).public_z85, a.public_z85);
  EXPECT_NE(message([&] { transport::load_public_key_file(loose); }).find("holds a secret key"),
            std::string::npos);
  std::filesystem::permissions(loose, std::filesystem::perms(0644));

  // rill-core: --curve-key without --curve-allow on a tcp:// endpoint, and
  // a mismatched key file: refused at start with status 2 (configuration).
  transport::save_key_file((dir.path() / "server.key").string(), a, true);
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {"--curve-key", (dir.path() / "server.key").string()},
           {"--curve-key", mixed, "--curve-allow", (dir.path() / "server.key").string()},
           {"--curve-key", loose, "--curve-allow", pub}}) {
    std::vector<std::string> argv = {std::string(RILL_BIN_DIR) + "/rill-core", "--data",
                                     (dir.path() / "d").string(), "--command",
                                     "tcp://127.0.0.1:" + std::to_string(free_port())};
    argv.insert(argv.end(), extra.begin(), extra.end());
    test::child_process core(argv, (dir.path() / "core.log").string());
    const int status = core.wait(20s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << extra.size() << ": " << status;
  }
}

}  // namespace
}  // namespace rill
