// A split deployment over tcp:// with CURVE (DESIGN.md "Security", "Scale"):
// a rill-proj in a data directory of its own reaches rill-core only over
// tcp. Its saga's commands must go through CURVE like everything else (they
// went out unencrypted, and a CURVE rill-core never saw them: an outside
// probe), and a tcp:// endpoint without keys is refused at start, never
// used in the clear.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "tests/daemons/cli_support.h"
#include "transport/client.h"
#include "transport/endpoints.h"
#include "transport/notify_client.h"
#include "transport/security.h"

namespace rill::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

int exit_status(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct keys {
  transport::key_pair server = transport::generate_key_pair();
  transport::key_pair proj = transport::generate_key_pair();
  std::string server_key, server_pub, proj_key, allow;
  explicit keys(const std::filesystem::path& dir)
      : server_key((dir / "server.key").string()),
        server_pub((dir / "server.pub").string()),
        proj_key((dir / "proj.key").string()),
        allow((dir / "allow.txt").string()) {
    transport::save_key_file(server_key, server, true);
    transport::save_key_file(server_pub, server, false);
    transport::save_key_file(proj_key, proj, true);
    std::ofstream(allow) << proj.public_z85 << "\n";
  }
};

TEST(SplitSecurity, ASagaOnAnotherDataDirectorySendsItsCommandsThroughCurve) {
  temp_dir dir("rsplit");
  const keys k(dir.path());
  const auto core_data = dir.path() / "core";
  const auto proj_data = dir.path() / "proj";
  const std::string command = free_tcp_endpoint(), events = free_tcp_endpoint(),
                    replay = free_tcp_endpoint();
  child_process core({std::string(RILL_BIN_DIR) + "/rill-core", "--data", core_data.string(),
                      "--segment-size", "1048576", "--command", command, "--events", events,
                      "--replay", replay, "--curve-key", k.server_key, "--curve-allow", k.allow},
                     (dir.path() / "core.log").string());
  zmq::context_t ctx;
  const transport::client_security sec{k.server.public_z85, k.proj};
  transport::rpc_client client(ctx, command, &sec);
  ASSERT_TRUE(eventually(
      [&] {
        return client.call({{"op", "ping"}}, 1s).has_value();
      },
      20s))
      << read_file(dir.path() / "core.log");

  child_process proj(
      {std::string(RILL_BIN_DIR) + "/rill-proj", "--data", proj_data.string(), "--models",
       "customer_analysis", "--events", events, "--replay", replay, "--command", command,
       "--notify-in", "none", "--curve-key", k.proj_key, "--curve-server", k.server_pub},
      (dir.path() / "proj.log").string());
  auto r = client.call({{"cmd", "CREATE_CUSTOMER"},
                        {"agg", "customer"},
                        {"id", "c1"},
                        {"data", {{"name", "Ada"}, {"email", "ada@example.com"}}}},
                       10s);
  ASSERT_TRUE(r && (*r)["ok"] == true) << (r ? r->dump() : "no reply");
  r = client.call({{"cmd", "CREATE_ORDER"},
                   {"agg", "order"},
                   {"id", "o1"},
                   {"data", {{"customer_id", "c1"}, {"amount", 20000}, {"currency", "EUR"}}}},
                  10s);
  ASSERT_TRUE(r && (*r)["ok"] == true) << (r ? r->dump() : "no reply");
  // The saga rates c1 A and sends UPDATE_CUSTOMER_CLASSIFICATION through
  // CURVE: rill-core journals it as seq 3.
  transport::rpc_client replay_client(ctx, replay, &sec);
  json third;
  EXPECT_TRUE(eventually(
      [&] {
        auto page = replay_client.call({{"from", 3}, {"max", 1}}, 2s);
        if (!page || (*page)["events"].empty()) return false;
        third = (*page)["events"][0];
        return true;
      },
      20s))
      << read_file(dir.path() / "proj.log");
  EXPECT_EQ(third.value("type", ""), "CUSTOMER_CLASSIFICATION_UPDATED") << third.dump();
  EXPECT_EQ(third["data"].value("classification", ""), "A") << third.dump();
}

// Without keys a tcp:// endpoint is refused at start, status 2
// (configuration), whether a saga would use it or the feed would.
TEST(SplitSecurity, RillProjWithoutKeysRefusesTcpEndpoints) {
  temp_dir dir("rsplit");
  const std::string tcp = free_tcp_endpoint();
  struct variant {
    std::vector<std::string> args;
    std::string says;
  };
  for (const variant& v : std::vector<variant>{
           {{"--models", "customer_analysis", "--command", tcp, "--notify-in", "none"},
            "needs CURVE keys"},
           {{"--models", "customers", "--events", tcp, "--notify-in", "none"}, "no CURVE keys"},
           {{"--models", "customers", "--notify-in", tcp}, "no CURVE keys"}}) {
    const auto data = dir.path() / ("d" + std::to_string(v.args.size()) + v.args[1]);
    const auto log = dir.path() / (data.filename().string() + ".log");
    std::vector<std::string> argv = {std::string(RILL_BIN_DIR) + "/rill-proj", "--data",
                                     data.string()};
    argv.insert(argv.end(), v.args.begin(), v.args.end());
    child_process p(argv, log.string());
    EXPECT_EQ(exit_status(p.wait(20s)), 2) << v.args[1] << ": " << read_file(log);
    EXPECT_NE(read_file(log).find(v.says), std::string::npos) << read_file(log);
  }
}

// A plain tcp:// server in place of rill-core: `rill send` without keys
// refuses (bad_key, exit 2) and sends nothing; it used to send the whole
// command in the clear, then report the server unreachable.
TEST(SplitSecurity, TheCliSendsNothingUnencrypted) {
  temp_dir dir("rsplit");
  const auto data = dir.path() / "d";
  zmq::context_t ctx;
  zmq::socket_t plain(ctx, zmq::socket_type::router);
  plain.set(zmq::sockopt::linger, 0);
  plain.bind("tcp://127.0.0.1:*");
  transport::endpoints ep = transport::default_endpoints(data);
  ep.command = plain.get(zmq::sockopt::last_endpoint);
  std::filesystem::create_directories(data / "run");
  transport::write_endpoints_json(data / "run" / "endpoints.json", ep);
  auto r =
      run_rill({"send", "CREATE_CUSTOMER", "customer", "secret-id", "name=Alice",
                "email=alice@secret.example", "--timeout-ms", "1500", "--data", data.string()});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("bad_key"), std::string::npos) << r.err;
  // `rill demo` too (it asked the tcp:// rill-core for its status in the
  // clear, then started a rill of its own).
  auto demo = run_rill({"demo", "--data", data.string()});
  EXPECT_EQ(demo.code, 2) << demo.out << demo.err;
  EXPECT_NE(demo.err.find("bad_key"), std::string::npos) << demo.err;
  zmq::pollitem_t item{plain.handle(), 0, ZMQ_POLLIN, 0};
  EXPECT_EQ(zmq::poll(&item, 1, 500ms), 0) << "something reached the plain server";
}

// A rill-proj whose key rill-notify refused at first, then allowed after a
// restart with a new allow-list: it connects again (libzmq gives an
// endpoint up for good after a refused handshake) and change notes flow.
// They were dropped until rill-proj was restarted, silently (an outside
// probe).
TEST(SplitSecurity, ARefusedReporterConnectsAgainOnceItsKeyIsAllowed) {
  temp_dir dir("rsplit");
  const keys k(dir.path());
  const auto watcher = transport::generate_key_pair();
  const auto watcher_only = (dir.path() / "watcher-only.txt").string();
  std::ofstream(watcher_only) << watcher.public_z85 << "\n";
  std::ofstream(k.allow, std::ios::app) << watcher.public_z85 << "\n";  // proj + watcher
  const auto data = dir.path() / "d";
  const std::string notify = free_tcp_endpoint(), notify_in = free_tcp_endpoint();
  child_process core({std::string(RILL_BIN_DIR) + "/rill-core", "--data", data.string()},
                     (dir.path() / "core.log").string());
  zmq::context_t ctx;
  transport::rpc_client client(ctx, transport::default_endpoints(data).command);
  ASSERT_TRUE(eventually([&] { return client.call({{"op", "ping"}}, 1s).has_value(); }, 20s));
  auto start_notify = [&](const std::string& allow) {
    return std::vector<std::string>{std::string(RILL_BIN_DIR) + "/rill-notify",
                                    "--data",
                                    data.string(),
                                    "--notify",
                                    notify,
                                    "--notify-in",
                                    notify_in,
                                    "--curve-key",
                                    k.server_key,
                                    "--curve-allow",
                                    allow};
  };
  child_process refusing(start_notify(watcher_only), (dir.path() / "notify1.log").string());
  child_process proj(
      {std::string(RILL_BIN_DIR) + "/rill-proj", "--data", data.string(), "--models", "customers",
       "--notify-in", notify_in, "--curve-key", k.proj_key, "--curve-server", k.server_pub},
      (dir.path() / "proj.log").string());
  int n = 0;
  auto create = [&] {
    auto r = client.call({{"cmd", "CREATE_CUSTOMER"},
                          {"agg", "customer"},
                          {"id", "c" + std::to_string(++n)},
                          {"data", {{"name", "Ada"}, {"email", "ada@example.com"}}}},
                         10s);
    return r && (*r)["ok"] == true;
  };
  ASSERT_TRUE(create());
  // Refused: rill-proj says so in its log.
  EXPECT_TRUE(eventually(
      [&] {
        return read_file(dir.path() / "proj.log").find("refused our CURVE handshake") !=
               std::string::npos;
      },
      20s))
      << read_file(dir.path() / "proj.log");
  refusing.kill();
  child_process allowing(start_notify(k.allow), (dir.path() / "notify2.log").string());
  const transport::client_security wsec{k.server.public_z85, watcher};
  transport::notify_client nc(ctx, notify, {}, &wsec);
  ASSERT_TRUE(eventually([&] { return nc.watch("customers") == errc::ok; }, 20s));
  bool noted = false;
  const auto until = std::chrono::steady_clock::now() + 40s;
  while (!noted && std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(create());
    for (auto note = nc.next_note(500ms); note && !noted; note = nc.next_note(10ms))
      noted = !note->resync && note->model == "customers";
  }
  EXPECT_TRUE(noted) << "no change note after the key was allowed\n"
                     << read_file(dir.path() / "proj.log");
}

}  // namespace
}  // namespace rill::test
