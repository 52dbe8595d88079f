// The CLI over tcp:// with CURVE: `rill send`, `rill tail` and `rill load` reach a
// rill-core whose endpoints (D/run/endpoints.json) are tcp, with the key pair
// of an allowed client; without keys, or with a stranger's, they get nothing;
// an unreadable key file is a usage error.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <zmq.hpp>

#include "tests/daemons/cli_support.h"
#include "transport/client.h"
#include "transport/endpoints.h"
#include "transport/security.h"

namespace rill::test {
namespace {

using namespace std::chrono_literals;

TEST(CliSecurity, TcpEndpointsNeedTheClientKey) {
  temp_dir dir("rclisec");
  const auto data = dir.path() / "d";
  const auto server = transport::generate_key_pair();
  const auto client = transport::generate_key_pair();
  const auto stranger = transport::generate_key_pair();
  const std::string server_key = (dir.path() / "server.key").string();
  const std::string server_pub = (dir.path() / "server.pub").string();
  const std::string client_key = (dir.path() / "client.key").string();
  const std::string stranger_key = (dir.path() / "stranger.key").string();
  transport::save_key_file(server_key, server, true);
  transport::save_key_file(server_pub, server, false);
  transport::save_key_file(client_key, client, true);
  transport::save_key_file((dir.path() / "client.pub").string(), client, false);
  transport::save_key_file(stranger_key, stranger, true);

  transport::endpoints ep = transport::default_endpoints(data);
  ep.command = free_tcp_endpoint();
  ep.events = free_tcp_endpoint();
  ep.replay = free_tcp_endpoint();
  child_process core({std::string(RILL_BIN_DIR) + "/rill-core", "--data", data.string(),
                      "--segment-size", "1048576", "--command", ep.command, "--events", ep.events,
                      "--replay", ep.replay, "--curve-key", server_key, "--curve-allow",
                      (dir.path() / "client.pub").string()},
                     (dir.path() / "core.log").string());
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(data / "run" / "rill-core.pid"); },
                         20s));
  transport::write_endpoints_json(data / "run" / "endpoints.json", ep);

  const std::vector<std::string> send = {"send", "CREATE_CUSTOMER", "customer", "c1", "name=Ada",
                                         "email=ada@example.com", "--data", data.string()};
  auto with = [&](std::vector<std::string> args, std::vector<std::string> extra) {
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  // The allowed client.
  run_result ok;
  ASSERT_TRUE(eventually(
      [&] {
        ok = run_rill(with(send, {"--curve-key", client_key, "--curve-server", server_pub}));
        return ok.code == 0;
      },
      20s))
      << ok.out << ok.err;
  // The same keys from the environment, and `rill tail` reading it back.
  auto tail = run_rill({"tail", "--from", "1", "--count", "1", "--timeout-ms", "5000", "--json",
                        "--data", data.string()},
                       {.env = {{"RILL_CURVE_KEY", client_key}, {"RILL_CURVE_SERVER", server_pub}}});
  EXPECT_EQ(tail.code, 0) << tail.err;
  EXPECT_NE(tail.out.find("\"c1\""), std::string::npos) << tail.out;

  // No keys: refused before anything is sent (bad_key, exit 2; a tcp://
  // endpoint is never used unencrypted). A stranger's keys: refused by the
  // server with `forbidden` (exit 1). Nothing appended either way.
  auto plain = run_rill(with(send, {"--timeout-ms", "1500"}));
  EXPECT_EQ(plain.code, 2) << plain.out << plain.err;
  EXPECT_NE(plain.err.find("bad_key"), std::string::npos) << plain.err;
  auto strange = run_rill(with(
      send, {"--timeout-ms", "5000", "--curve-key", stranger_key, "--curve-server", server_pub}));
  EXPECT_EQ(strange.code, 1) << strange.out << strange.err;
  EXPECT_NE(strange.err.find("forbidden"), std::string::npos) << strange.err;
  // `rill tail` with the stranger's keys says so too (it printed nothing
  // and exited 0, as if the journal were empty).
  auto strange_tail = run_rill({"tail", "--from", "1", "--no-follow", "--data", data.string(),
                                "--curve-key", stranger_key, "--curve-server", server_pub});
  EXPECT_EQ(strange_tail.code, 1) << strange_tail.out << strange_tail.err;
  EXPECT_NE(strange_tail.err.find("forbidden"), std::string::npos) << strange_tail.err;
  // An unreadable key file, or half a configuration: usage errors.
  auto missing = run_rill(with(send, {"--curve-key", (dir.path() / "nope").string(),
                                      "--curve-server", server_pub}));
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("bad_key"), std::string::npos) << missing.err;
  auto half = run_rill(with(send, {"--curve-key", client_key}));
  EXPECT_EQ(half.code, 2) << half.err;
  // The server's secret key file where its public key belongs: refused
  // (it was used for its public key; the secret never belongs with a client).
  auto secret_server =
      run_rill(with(send, {"--curve-key", client_key, "--curve-server", server_key}));
  EXPECT_EQ(secret_server.code, 2) << secret_server.out << secret_server.err;
  EXPECT_NE(secret_server.err.find("holds a secret key"), std::string::npos) << secret_server.err;
  // Our own secret key readable by others: refused, as ssh does.
  std::filesystem::permissions(client_key, std::filesystem::perms(0644));
  auto loose = run_rill(with(send, {"--curve-key", client_key, "--curve-server", server_pub}));
  std::filesystem::permissions(client_key, std::filesystem::perms(0600));
  EXPECT_EQ(loose.code, 2) << loose.out << loose.err;
  EXPECT_NE(loose.err.find("chmod 600"), std::string::npos) << loose.err;

  // `rill load` with the keys: every command acknowledged, every event seen
  // on the (CURVE) feed; without keys it refuses to start (exit 2).
  auto load = run_rill({"load", "--count", "200", "--window", "20", "--visible", "--json",
                        "--data", data.string(), "--curve-key", client_key, "--curve-server",
                        server_pub});
  ASSERT_EQ(load.code, 0) << load.out << load.err;
  const auto lj = nlohmann::json::parse(load.out);
  EXPECT_EQ(lj["ok"], 200) << load.out;
  EXPECT_EQ(lj["visible_us"]["count"], 200) << load.out;
  // A stranger's keys: told `forbidden` (exit 1), not "not running".
  auto load_strange = run_rill({"load", "--count", "10", "--data", data.string(), "--curve-key",
                                stranger_key, "--curve-server", server_pub});
  EXPECT_EQ(load_strange.code, 1) << load_strange.out << load_strange.err;
  EXPECT_NE(load_strange.err.find("forbidden"), std::string::npos) << load_strange.err;
  auto load_plain = run_rill({"load", "--count", "10", "--data", data.string()});
  EXPECT_EQ(load_plain.code, 2) << load_plain.out << load_plain.err;

  // Only the allowed clients' commands were appended.
  zmq::context_t ctx;
  transport::client_security good{server.public_z85, client};
  transport::rpc_client c(ctx, ep.command, &good);
  auto st = c.call({{"op", "status"}});
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ((*st)["head"], 201);
}

// `rill keys gen NAME --force` replaces NAME.key; a symlink there is
// replaced too, never written through (it truncated the link's target and
// made it 0600: with root in a directory others can write to, any file).
TEST(CliSecurity, KeysGenForceDoesNotWriteThroughASymlink) {
  temp_dir dir("rclisec");
  const auto target = dir.path() / "target";
  std::ofstream(target) << "precious\n";
  std::filesystem::permissions(target, std::filesystem::perms(0644));
  const auto name = dir.path() / "ln";
  std::filesystem::create_symlink(target, dir.path() / "ln.key");
  auto r = run_rill({"keys", "gen", name.string(), "--force"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  std::ifstream in(target);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "precious\n");
  EXPECT_EQ(std::filesystem::status(target).permissions(), std::filesystem::perms(0644));
  EXPECT_FALSE(std::filesystem::is_symlink(dir.path() / "ln.key"));
  EXPECT_EQ(std::filesystem::status(dir.path() / "ln.key").permissions(),
            std::filesystem::perms(0600));
  EXPECT_EQ(transport::load_key_file((dir.path() / "ln.key").string()).public_z85,
            transport::load_key_file((dir.path() / "ln.pub").string()).public_z85);
}

// Without --force, NAME.key that is a dangling symlink is there all the
// same: refused, the link left alone (it was replaced, as if absent).
TEST(CliSecurity, KeysGenWithoutForceLeavesADanglingSymlinkAlone) {
  temp_dir dir("rclisec");
  const auto name = dir.path() / "ln";
  std::filesystem::create_symlink(dir.path() / "nowhere", dir.path() / "ln.key");
  auto r = run_rill({"keys", "gen", name.string()});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("already_exists"), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::is_symlink(dir.path() / "ln.key"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "ln.pub"));
}

}  // namespace
}  // namespace rill::test
