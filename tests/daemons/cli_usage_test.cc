// The rill CLI without a running rill: help, usage errors (exit 2), "not
// running" (exit 3), data directory selection, keys.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/daemons/cli_support.h"

namespace rill::test {
namespace {

TEST(CliUsage, EverySubcommandHasHelp) {
  const std::vector<std::vector<std::string>> subs = {{"up"},
                                                      {"down"},
                                                      {"status"},
                                                      {"send"},
                                                      {"query"},
                                                      {"watch"},
                                                      {"tail"},
                                                      {"journal"},
                                                      {"journal", "verify"},
                                                      {"journal", "dump"},
                                                      {"journal", "truncate"},
                                                      {"rebuild"},
                                                      {"demo"},
                                                      {"keys"},
                                                      {"keys", "gen"}};
  for (auto args : subs) {
    const std::string name = args.back();
    args.push_back("--help");
    auto r = run_rill(args);
    EXPECT_EQ(r.code, 0) << name << ": " << r.err;
    EXPECT_NE(r.out.find("--data"), std::string::npos) << name << " help lacks --data:\n" << r.out;
    EXPECT_NE(r.out.find("--json"), std::string::npos) << name << " help lacks --json:\n" << r.out;
  }
  auto top = run_rill({"--help"});
  EXPECT_EQ(top.code, 0);
  for (const char* s : {"up", "down", "status", "send", "query", "watch", "tail", "journal",
                        "rebuild", "demo", "keys"})
    EXPECT_NE(top.out.find(s), std::string::npos) << s;
}

TEST(CliUsage, UsageErrorsExitTwo) {
  temp_dir d("rcli");
  const std::string data = d.path().string();
  const std::vector<std::vector<std::string>> bad = {
      {},                                     // no subcommand
      {"frobnicate"},                         // unknown subcommand
      {"status", "--bogus", "--data", data},  // unknown flag
      {"send", "--data", data},               // missing CMD AGG ID
      {"send", "CREATE_CUSTOMER", "customer", "--data", data},
      {"send", "CREATE_CUSTOMER", "customer", "c1", "name", "--data", data},  // not field=value
      {"send", "--json", "{not json", "--data", data},
      {"send", "--json", "{}", "CREATE_CUSTOMER", "customer", "c1", "--data", data},
      {"send", "X", "y", "z", "--expect", "abc", "--data", data},
      {"query", "customers", "--data", data},  // missing Q
      {"watch", "--data", data},               // missing MODEL
      {"up", "--sync", "sometimes", "--data", data},
      {"up", "--sync", "interval:", "--data", data},
      {"up", "--schema", data + "/missing.json", "--data", data},
      {"journal", "--data", data},  // missing verify|dump
      {"journal", "dump", "--from", "5", "--to", "2", "--data", data},
      {"keys", "gen"},
      // Negative values for unsigned flags (CLI11 alone wraps them around).
      {"query", "customers", "get", "id=c1", "--after", "-1", "--data", data},
      // Past 2^64-1: refused, not clamped to it (an outside probe).
      {"journal", "truncate", "--after", "18446744073709551616", "--yes", "--data", data},
      {"journal", "dump", "--from", "99999999999999999999", "--data", data},
      {"tail", "--from", "-1", "--no-follow", "--data", data},
      {"journal", "dump", "--from=-3", "--data", data},
      {"load", "--window", "-1", "--data", data},
      // Values out of range, contradictions, a file for a directory.
      {"send", "X", "y", "z", "--expect", "99999999999999999999", "--data", data},
      {"send", "--json", R"({"cmd": "C", "agg": "a", "id": "1", "key": "k1"})", "--key", "k2",
       "--data", data},
      {"send", "--json", R"([{"cmd": "C", "agg": "a", "id": "1"}])", "--expect", "0", "--data",
       data},
      {"status", "--data", data + "/a-file"},
      {"journal", "truncate", "--data", data},  // missing --after
      {"journal", "truncate", "--after", "1", "--yes", "--dry-run", "--data", data},
      {"up", "--detach", "--data", data + "/" + std::string(100, 'x')},  // ipc paths too long
      {"up", "--sync", "", "--data", data},
      {"load", "--count", "0", "--data", data},
  };
  std::ofstream(d.path() / "a-file") << "not a directory";
  for (const auto& args : bad) {
    auto r = run_rill(args);
    std::string line;
    for (const auto& a : args) line += a + " ";
    EXPECT_EQ(r.code, 2) << "rill " << line << "\nstdout: " << r.out << "\nstderr: " << r.err;
    // One line in the form of every CLI error, then where to look.
    EXPECT_EQ(r.err.rfind("rill: usage: ", 0), 0u) << line << "\n" << r.err;
    EXPECT_NE(r.err.find("--help' for usage."), std::string::npos) << line << "\n" << r.err;
  }
  EXPECT_NE(run_rill({"frobnicate"}).err.find("unknown command 'frobnicate' (commands: up down"),
            std::string::npos);
  EXPECT_EQ(run_rill({"status", "--bogus"}).err.rfind("rill: usage: status: ", 0), 0u);
  // A command with subcommands names the unknown one and lists its own (CLI11
  // said "A subcommand is required" for both).
  EXPECT_EQ(run_rill({"journal", "bogus", "--data", data}).err,
            "rill: usage: journal: unknown subcommand 'bogus' (commands: verify dump truncate)\n"
            "Run 'rill journal --help' for usage.\n");
  EXPECT_EQ(run_rill({"keys"}).err.rfind(
                "rill: usage: keys: a subcommand is required (commands: gen)\n", 0),
            0u);
  EXPECT_NE(run_rill({"status", "--data", data + "/a-file"}).err.find("is not a directory"),
            std::string::npos);
  EXPECT_NE(run_rill({"journal", "truncate", "--after", "18446744073709551616", "--data", data})
                .err.find("out of range"),
            std::string::npos);
  // The same file as $RILL_DATA: a usage error too (it was reported as
  // "forbidden: permission denied", or a start_failed, with exit 1).
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"status"}, {"down"}, {"up", "--detach"}, {"journal", "verify"}, {"tail"}}) {
    auto r = run_rill(args, {.env = {{"RILL_DATA", data + "/a-file"}}});
    EXPECT_EQ(r.code, 2) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("is not a directory"), std::string::npos) << args[0] << ": " << r.err;
  }
  auto long_path = run_rill({"up", "--detach", "--data", data + "/" + std::string(100, 'x')});
  EXPECT_NE(long_path.err.find("more than a Unix socket's limit of 107"), std::string::npos)
      << long_path.err;
  EXPECT_FALSE(std::filesystem::exists(data + "/" + std::string(100, 'x'))) << "nothing started";
  // A usage error never starts anything.
  EXPECT_FALSE(std::filesystem::exists(d.path() / "run" / "rill.lock"));
}

// rill up runs every daemon on D/run's ipc endpoints: a config file that
// moves one is refused before anything starts, the key named.
TEST(CliUsage, UpRefusesAConfigFileThatMovesAnEndpoint) {
  temp_dir d("rcli");
  const auto config = d.path() / "rill.json";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"events": "ipc:///tmp/elsewhere"})", "'events'"},
      {R"({"rates": "tcp://127.0.0.1:7000"})", "'rates'"},
      {R"({"proj": {"notify_in": "none"}})", "'proj.notify_in'"},
      {R"({"notify": {"notify": "ipc:///tmp/n"}})", "'notify.notify'"},
      {R"({"rates": {"endpoint": "ipc:///tmp/r"}})", "'rates.endpoint'"},
      {R"([1, 2])", "is not a JSON object"},
  };
  for (const auto& [text, what] : cases) {
    std::ofstream(config) << text;
    auto r = run_rill(
        {"up", "--detach", "--data", (d.path() / "data").string(), "--config", config.string()});
    EXPECT_EQ(r.code, 2) << text << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("rill: usage: up: --config: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << text << "\n" << r.err;
    EXPECT_FALSE(std::filesystem::exists(d.path() / "data")) << "nothing started";
  }
}

// Two `rill up` started together: the one that finds the lock taken names
// the winner's pid, although the winner writes its pid file a moment after
// taking the lock (an outside probe saw no pid).
TEST(CliUsage, UpNamesASupervisorThatHasJustTakenTheLock) {
  temp_dir d("rcli");
  const auto run = d.path() / "run";
  std::filesystem::create_directories(run);
  ::chmod(run.c_str(), 0700);
  const int fd = ::open((run / "rill.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::ofstream(run / "rill.pid") << "4242\n";
  });
  auto r = run_rill({"up", "--detach", "--data", d.path().string()});
  late.join();
  ::close(fd);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("already_running"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(supervisor pid 4242)"), std::string::npos) << r.err;
}

TEST(CliUsage, NotRunningExitsThree) {
  temp_dir d("rcli");
  const std::string data = d.path().string();
  const std::vector<std::vector<std::string>> cmds = {
      {"status"},
      {"send", "CREATE_CUSTOMER", "customer", "c1", "name=Ada", "email=a@x"},
      {"send", "--json", R"({"op": "ping"})"},
      {"query", "customers", "get", "id=c1"},
      {"watch", "customers", "--timeout-ms", "1000"},
      {"tail", "--count", "1"},
      {"rebuild", "customers"},
  };
  for (auto args : cmds) {
    args.insert(args.end(), {"--data", data});
    auto r = run_rill(args, {.timeout = std::chrono::milliseconds(20000)});
    EXPECT_EQ(r.code, 3) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("not_running"), std::string::npos) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find(std::filesystem::absolute(d.path()).string()), std::string::npos) << r.err;
  }
  // A file where D/run belongs is not a permission problem (it said
  // "forbidden: permission denied" to its owner; an outside probe).
  {
    temp_dir f("rcli");
    std::ofstream(f.path() / "run") << "not a directory";
    auto r = run_rill({"status", "--data", f.path().string()});
    EXPECT_EQ(r.code, 3) << r.err;
    EXPECT_EQ(r.err.find("forbidden"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("is a file"), std::string::npos) << r.err;
  }
  // With --json the error is also one JSON object on stdout (stdout was
  // empty: an outside probe's `rill --json status | jq` had nothing to read).
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--json", "status", "--data", data},
           {"status", "--json", "--data", data},
           {"--json", "query", "customers", "get", "id=c1", "--data", data},
           {"--json", "journal", "verify", "--data", data},
           {"--json", "journal", "dump", "--data", data},
           {"status", "--json", "--bogus", "--data", data}}) {  // the parser's own error
    auto r = run_rill(args, {.timeout = std::chrono::milliseconds(20000)});
    EXPECT_NE(r.code, 0) << args[1];
    const auto j = parse_json(r.out);
    ASSERT_TRUE(j.is_object()) << args[1] << ": stdout '" << r.out << "'";
    EXPECT_EQ(j["ok"], false) << r.out;
    EXPECT_TRUE(j["error"].is_string()) << r.out;
    EXPECT_TRUE(j["message"].is_string()) << r.out;
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line: " << r.out;
  }
}

// A D/run/endpoints.json that cannot be used is named, not silently passed
// over for the defaults (which may not be where rill listens). (`rill
// status` asks the supervisor first: without one it is `not_running`.)
TEST(CliUsage, AnEndpointsFileThatCannotBeUsedIsRefused) {
  temp_dir d("rcli");
  const std::string data = d.path().string();
  std::filesystem::create_directories(d.path() / "run");
  const auto file = d.path() / "run" / "endpoints.json";
  const std::vector<std::pair<std::string, std::string>> files = {
      {"{not json", "is not valid JSON"},
      {"[1, 2]", "is not a JSON object"},
      {R"({"command": 5})", "command is not a string"},
      {R"({"command": "foo://x"})", "'foo://x' is not an ipc:// or tcp:// endpoint"},
      {R"({"command": "ipc://"})", "'ipc://' has no path"},
      {R"({"command": "tcp://127.0.0.1:notaport"})", "is not tcp://HOST:PORT"},
      {R"({"command": "tcp://127.0.0.1"})", "is not tcp://HOST:PORT"},
      {R"({"command": "ipc:///x/command"})", "has no events"},
      {R"({"command": "ipc:///c", "events": "ipc:///e", "replay": "ipc:///r", "notify": "ipc:///n",
           "notify_in": "ipc:///i", "models": {"customers": "udp://x"}})",
       "models.customers"},
      {R"({"command": "ipc:///c", "events": "ipc:///e", "replay": "ipc:///r", "notify": "ipc:///n",
           "notify_in": "ipc:///i", "models": []})",
       "models is not an object"},
      {R"({"command": "ipc:///c", "events": "ipc:///)" + std::string(200, 'p') + R"("})",
       "limit of 107"},
  };
  const std::vector<std::vector<std::string>> cmds = {
      {"send", "CREATE_CUSTOMER", "customer", "c1", "name=Ada", "email=a@x"},
      {"query", "customers", "get", "id=c1"},
      {"watch", "customers", "--timeout-ms", "1000"},
      {"tail", "--count", "1"},
      {"rebuild", "customers"},
      {"load", "--count", "1"},
  };
  for (const auto& [text, why] : files) {
    std::ofstream(file, std::ios::trunc) << text;
    for (auto args : cmds) {
      args.insert(args.end(), {"--data", data});
      auto r = run_rill(args, {.timeout = std::chrono::milliseconds(20000)});
      EXPECT_EQ(r.code, 1) << text << ": " << args[0] << ": " << r.err;
      EXPECT_NE(r.err.find("rill: bad_endpoints: " + std::filesystem::absolute(file).string()),
                std::string::npos)
          << text << ": " << args[0] << ": " << r.err;
      EXPECT_NE(r.err.find(why), std::string::npos) << text << ": " << args[0] << ": " << r.err;
    }
  }
}

TEST(CliUsage, QueryOfAnUnknownModelIsRefused) {
  temp_dir d("rcli");
  auto r = run_rill({"query", "no_such_model", "get", "id=1", "--data", d.path().string()});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("unknown_model"), std::string::npos) << r.err;
}

TEST(CliUsage, DownWhenNothingRunsSaysSoAndSucceeds) {
  temp_dir d("rcli");
  auto r = run_rill({"down", "--data", d.path().string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("not running"), std::string::npos) << r.out;
  auto j = run_rill({"down", "--json", "--data", d.path().string()});
  EXPECT_EQ(j.code, 0);
  auto v = parse_json(j.out);
  ASSERT_TRUE(v.is_object()) << j.out;
  EXPECT_EQ(v["was_running"], false);
}

TEST(CliUsage, DataDirectoryFromFlagEnvironmentOrDefault) {
  temp_dir d("rcli");
  const auto cwd = std::filesystem::canonical(d.path());
  // Default: ./rill-data of the working directory.
  auto def = run_rill({"down"}, {.cwd = cwd.string(), .env = {{"RILL_DATA", ""}}});
  EXPECT_EQ(def.code, 0) << def.err;
  EXPECT_NE(def.out.find((cwd / "rill-data").string()), std::string::npos) << def.out;
  // $RILL_DATA.
  auto env = run_rill({"down"},
                      {.cwd = cwd.string(), .env = {{"RILL_DATA", (cwd / "elsewhere").string()}}});
  EXPECT_NE(env.out.find((cwd / "elsewhere").string()), std::string::npos) << env.out;
  // --data wins over $RILL_DATA, before or after the subcommand, relative to the cwd.
  auto flag = run_rill({"--data", "x1", "down"},
                       {.cwd = cwd.string(), .env = {{"RILL_DATA", "/nonexistent"}}});
  EXPECT_NE(flag.out.find((cwd / "x1").string()), std::string::npos) << flag.out;
  auto after = run_rill({"down", "--data", "x2/"}, {.cwd = cwd.string()});
  EXPECT_NE(after.out.find((cwd / "x2").string() + ";"), std::string::npos) << after.out;
}

TEST(CliUsage, KeysGenWritesAPrivateSecretAndAPublicKey) {
  temp_dir d("rcli");
  const auto stem = (d.path() / "client").string();
  auto r = run_rill({"keys", "gen", stem});
  ASSERT_EQ(r.code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat((stem + ".key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((stem + ".pub").c_str(), &st), 0);
  std::ifstream pub(stem + ".pub"), sec(stem + ".key");
  std::string pub_text((std::istreambuf_iterator<char>(pub)), {}),
      sec_text((std::istreambuf_iterator<char>(sec)), {});
  EXPECT_EQ(pub_text.find("secret"), std::string::npos);
  EXPECT_NE(sec_text.find("secret = "), std::string::npos);
  // The printed public key is the one in both files.
  auto pos = r.out.find("public key: ");
  ASSERT_NE(pos, std::string::npos) << r.out;
  const std::string key = r.out.substr(pos + 12, 40);
  EXPECT_NE(pub_text.find(key), std::string::npos);
  EXPECT_NE(sec_text.find(key), std::string::npos);
  // No silent overwrite; --force replaces.
  auto again = run_rill({"keys", "gen", stem});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already_exists"), std::string::npos) << again.err;
  auto forced = run_rill({"keys", "gen", stem, "--force", "--json"});
  ASSERT_EQ(forced.code, 0) << forced.err;
  auto j = parse_json(forced.out);
  ASSERT_TRUE(j.is_object()) << forced.out;
  EXPECT_NE(j.value("public", std::string()), key);
  EXPECT_EQ(j.value("public", std::string()).size(), 40u);
}

// rill keeps D private to its owner (0700). Another user cannot tell whether
// rill runs there: that is `forbidden` (exit 1), never "not running" (exit
// 3), and `rill down` does not claim there was nothing to stop.
TEST(CliUsage, AnotherUsersDataDirectoryIsForbiddenNotNotRunning) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run rill as another user";
  temp_dir d("rcli-perm");
  ::chmod(d.path().c_str(), 0755);
  // The build tree may sit where `nobody` cannot enter (a 0700 temp dir):
  // run a copy of rill from this world-readable directory.
  const auto rill = d.path() / "rill";
  std::filesystem::copy_file(rill_bin(), rill);
  ::chmod(rill.c_str(), 0755);
  const auto data = d.path() / "data";
  std::filesystem::create_directories(data / "run");
  std::filesystem::create_directories(data / "journal");
  ::chmod(data.c_str(), 0700);
  const uid_t nobody = 65534;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"status"},
           {"down"},
           {"query", "customers", "list"},
           {"query", "no_such_model", "get"},
           {"send", "CREATE_CUSTOMER", "customer", "c1", "name=A", "email=a@x"},
           {"tail"},
           {"watch", "customers"},
           {"journal", "verify"},
           {"journal", "dump"}}) {
    auto with_data = args;
    with_data.insert(with_data.end(), {"--data", data.string()});
    auto r = run_rill(
        with_data,
        {.timeout = std::chrono::seconds(20), .program = rill.string(), .as_user = nobody});
    EXPECT_EQ(r.code, 1) << args[0] << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("rill: forbidden: cannot access " + data.string() +
                         ": permission denied (owner uid 0, mode 0700)"),
              std::string::npos)
        << args[0] << ": " << r.err;
    EXPECT_EQ(r.out.find("nothing to stop"), std::string::npos) << r.out;
  }
  // D itself open to all, D/run private: the same.
  ::chmod(data.c_str(), 0755);
  ::chmod((data / "run").c_str(), 0700);
  auto r =
      run_rill({"status", "--data", data.string()}, {.program = rill.string(), .as_user = nobody});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("forbidden: cannot access " + (data / "run").string()), std::string::npos)
      << r.err;
  // The owner is told it is simply not running.
  EXPECT_EQ(run_rill({"status", "--data", data.string()}).code, 3);
}

}  // namespace
}  // namespace rill::test
