// Endpoint flags a daemon can never bind are a refused configuration
// (exit 2, the endpoint named in the log), not a fault restarted for ever
// (exit 1 with libzmq's bare "Protocol not supported"); a daemon that stops
// after binding some endpoints leaves no socket file behind, and one never
// takes over a socket file another process listens on.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/child_process.h"
#include "tests/support/daemon_probe.h"

namespace rill {
namespace {

using namespace std::chrono_literals;

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::vector<std::string> sockets_in(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_socket()) out.push_back(it->path().filename().string());
  return out;
}

TEST(EndpointFlags, AnEndpointNoStartCanBindIsARefusedConfiguration) {
  test::temp_dir dir;
  const auto d = [&](const std::string& n) { return (dir.path() / n).string(); };
  const std::string too_long = "ipc://" + d(std::string(120, 'x'));
  struct daemon_case {
    std::vector<std::string> argv;
    std::string named;  // in the log
  };
  for (const daemon_case& c : std::vector<daemon_case>{
           {{"rill-core", "--data", d("c1"), "--command", "bogus://x"}, "bogus://x"},
           {{"rill-core", "--data", d("c2"), "--replay", "ipc://"}, "ipc://"},
           {{"rill-core", "--data", d("c3"), "--events", too_long}, too_long},
           {{"rill-notify", "--data", d("n"), "--notify", "bogus"}, "bogus"},
           {{"rill-core", "--data", d("c4"), "--command", "tcp://127.0.0.1:99999"},
            "the port must be 1..65535"},
           {{"rill-rates", "--data", d("r"), "--endpoint", "nope://1"}, "nope://1"},
           // inproc:// binds, but no other process could ever reach it.
           {{"rill-core", "--data", d("c5"), "--command", "inproc://c"}, "inproc://c"},
           {{"rill-notify", "--data", d("n2"), "--notify-in", "inproc://n"}, "inproc://n"},
           {{"rill-rates", "--data", d("r2"), "--endpoint", "inproc://r"}, "inproc://r"},
           {{"rill-proj", "--data", d("p2"), "--models", "customers", "--events", "inproc://e"},
            "inproc://e"},
           // A saga's endpoints too.
           {{"rill-proj", "--data", d("p4"), "--models", "exchange_rates", "--rates", "inproc://r"},
            "inproc://r"},
           {{"rill-proj", "--data", d("p5"), "--models", "customer_analysis", "--command",
             "inproc://c"},
            "inproc://c"},
           {{"rill-proj", "--data", d("p3"), "--models", "customers", "--notify-in", "none",
             "--model-endpoint", "customers=inproc://m"},
            "inproc://m"},
           {{"rill-proj", "--data", d("p"), "--models", "customers", "--notify-in", "none",
             "--model-endpoint", "customers=" + too_long},
            too_long}}) {
    std::vector<std::string> argv = c.argv;
    argv[0] = std::string(RILL_BIN_DIR) + "/" + argv[0];
    const auto log = dir.path() / (c.argv[0] + ".log");
    std::filesystem::remove(log);
    test::child_process p(argv, log.string());
    const int st = p.wait(20s);
    const std::string text = read_text(log);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2)
        << c.argv[0] << " " << c.argv.back() << ": status " << st << "\n"
        << text;
    EXPECT_NE(text.find(c.named), std::string::npos) << text;
    EXPECT_TRUE(sockets_in(std::filesystem::path(argv[2]) / "run").empty())
        << c.argv[0] << ": "
        << ::testing::PrintToString(sockets_in(std::filesystem::path(argv[2]) / "run"));
  }
}

// The same socket path twice (here rill-core's replay on its own command
// socket): the second bind is refused, and the daemon, stopping, removes
// what it had bound. A second rill-core given another data directory but
// the first one's socket path does not take it over either.
TEST(EndpointFlags, ASocketFileALiveProcessListensOnIsNotTakenOver) {
  test::temp_dir dir;
  const auto data = dir.path() / "d";
  const std::string cmd = "ipc://" + (data / "run" / "command").string();
  {
    const auto log = dir.path() / "twice.log";
    test::child_process p(
        {std::string(RILL_BIN_DIR) + "/rill-core", "--data", data.string(), "--replay", cmd},
        log.string());
    const int st = p.wait(20s);
    const std::string text = read_text(log);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1) << st << "\n" << text;
    EXPECT_NE(text.find("is in use"), std::string::npos) << text;
    EXPECT_TRUE(sockets_in(data / "run").empty())
        << ::testing::PrintToString(sockets_in(data / "run"));
  }
  test::child_process first({std::string(RILL_BIN_DIR) + "/rill-core", "--data", data.string()},
                            (dir.path() / "first.log").string());
  ASSERT_TRUE(test::eventually(
      [&] { return std::filesystem::exists(data / "run" / "rill-core.pid"); }, 20s));
  struct stat before {};
  ASSERT_EQ(::stat((data / "run" / "command").c_str(), &before), 0);
  const auto log = dir.path() / "second.log";
  test::child_process second({std::string(RILL_BIN_DIR) + "/rill-core", "--data",
                              (dir.path() / "other").string(), "--command", cmd},
                             log.string());
  const int st = second.wait(20s);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1) << st << "\n" << read_text(log);
  struct stat after {};
  ASSERT_EQ(::stat((data / "run" / "command").c_str(), &after), 0)
      << "the first one's socket is there";
  EXPECT_EQ(after.st_ino, before.st_ino) << "and it is the same file";
  EXPECT_TRUE(first.running());
}

// SIGHUP (a closed terminal) stops a daemon as SIGTERM does: exit 0, its
// socket and pid files removed. rill-core and rill-notify died of it (exit
// 129) and left them, so clients waited for an answer (an outside probe).
TEST(EndpointFlags, SighupIsACleanStop) {
  test::temp_dir dir;
  struct daemon_case {
    std::vector<std::string> argv;
    std::string pid_file;
  };
  const auto d = [&](const std::string& n) { return (dir.path() / n).string(); };
  for (const daemon_case& c : std::vector<daemon_case>{
           {{"rill-core", "--data", d("c")}, "rill-core.pid"},
           {{"rill-notify", "--data", d("n")}, "rill-notify.pid"},
           {{"rill-proj", "--data", d("p"), "--models", "customers", "--notify-in", "none"},
            "rill-proj-customers.pid"}}) {
    std::vector<std::string> argv = c.argv;
    argv[0] = std::string(RILL_BIN_DIR) + "/" + argv[0];
    const std::filesystem::path run = std::filesystem::path(argv[2]) / "run";
    test::child_process p(argv, (dir.path() / (c.argv[0] + ".log")).string());
    ASSERT_TRUE(test::eventually(
        [&] { return std::filesystem::exists(run / c.pid_file) && !sockets_in(run).empty(); }, 20s))
        << c.argv[0];
    std::this_thread::sleep_for(200ms);  // every endpoint bound
    const int st = p.kill(SIGHUP, 20s);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << c.argv[0] << ": status " << st;
    EXPECT_TRUE(sockets_in(run).empty())
        << c.argv[0] << ": " << ::testing::PrintToString(sockets_in(run));
    EXPECT_FALSE(std::filesystem::exists(run / c.pid_file)) << c.argv[0];
  }
}

}  // namespace
}  // namespace rill
