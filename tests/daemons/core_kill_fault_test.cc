// Fault suite (label "fault"): rill-core SIGKILLed at random moments under a
// pipelined load with idempotency keys. After every restart each
// acknowledged event is present exactly once and seq is dense.
// RILL_FAULT_ROUNDS overrides the number of rounds (CI: 20; long runs: 100).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "tests/daemons/cli_support.h"
#include "tests/support/child_process.h"
#include "tests/support/daemon_probe.h"
#include "transport/client.h"
#include "transport/endpoints.h"

namespace rill {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

int rounds() {
  const char* r = std::getenv("RILL_FAULT_ROUNDS");
  return r ? std::max(1, std::atoi(r)) : 20;
}

void kill_rounds(const std::string& sync) {
  test::temp_dir dir;
  zmq::context_t ctx;
  auto eps = transport::default_endpoints(dir.path());
  test::child_process core;
  auto start = [&] {
    core.start({std::string(RILL_BIN_DIR) + "/rill-core", "--data", dir.path().string(),
                "--segment-size", "1048576", "--sync", sync},
               (dir.path() / "core.log").string());
    ASSERT_TRUE(test::comes_up(ctx, eps.command));
  };
  std::mt19937 rng(12345);
  std::map<int, uint64_t> acked_seq;  // command number -> seq it was acknowledged with
  int next_cmd = 0;
  for (int round = 0; round < rounds(); ++round) {
    start();
    // Retry what was sent but not acknowledged in the round before (same keys).
    const int first = std::max(0, next_cmd - 3000);
    transport::pipeline_client pc(ctx, eps.command, 500);
    auto on_reply = [&](std::span<const char> bytes) {
      auto j = json::from_msgpack(std::string(bytes.data(), bytes.size()), true, false);
      if (j.is_discarded() || j["ok"] != true) return;
      int n = j["req"].get<int>();
      auto [it, fresh] = acked_seq.emplace(n, j["seq"].get<uint64_t>());
      if (!fresh) {
        ASSERT_EQ(it->second, j["seq"].get<uint64_t>()) << "command " << n << " got two seqs";
      }
    };
    std::thread killer([&, delay = std::uniform_int_distribution<int>(20, 200)(rng)] {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      core.signal(SIGKILL);
    });
    for (int n = first; n < next_cmd + 8000; ++n) {
      json c = {{"cmd", "CREATE_CUSTOMER"}, {"agg", "customer"}, {"id", "c" + std::to_string(n)},
                {"key", "k" + std::to_string(n)}, {"data", {{"name", "N"}, {"email", "e"}}}, {"req", n}};
      auto b = json::to_msgpack(c);
      if (!pc.submit({reinterpret_cast<const char*>(b.data()), b.size()}, on_reply, 300ms)) {
        next_cmd = std::max(next_cmd, n);
        break;
      }
      next_cmd = std::max(next_cmd, n + 1);
    }
    pc.drain(on_reply, 300ms);
    killer.join();
    core.wait();
  }
  // Final check: restart, retry everything once more, and read the journal.
  start();
  {
    transport::pipeline_client pc(ctx, eps.command, 1000);
    size_t checked = 0;
    auto on_reply = [&](std::span<const char> bytes) {
      auto j = json::from_msgpack(std::string(bytes.data(), bytes.size()));
      int n = j["req"].get<int>();
      ASSERT_EQ(j["ok"], true) << n << " " << j.dump();
      if (auto it = acked_seq.find(n); it != acked_seq.end()) {
        ASSERT_EQ(j["dup"], true) << "acknowledged command " << n << " was lost";
        ASSERT_EQ(j["seq"], it->second) << "command " << n;
      }
      ++checked;
    };
    for (int n = 0; n < next_cmd; ++n) {
      json c = {{"cmd", "CREATE_CUSTOMER"}, {"agg", "customer"}, {"id", "c" + std::to_string(n)},
                {"key", "k" + std::to_string(n)}, {"data", {{"name", "N"}, {"email", "e"}}}, {"req", n}};
      auto b = json::to_msgpack(c);
      ASSERT_TRUE(pc.submit({reinterpret_cast<const char*>(b.data()), b.size()}, on_reply));
    }
    ASSERT_TRUE(pc.drain(on_reply, 60s));
    ASSERT_EQ(checked, static_cast<size_t>(next_cmd));
  }
  transport::rpc_client replay(ctx, eps.replay);
  std::set<std::string> ids;
  uint64_t next = 1;
  for (;;) {
    auto r = replay.call({{"from", next}, {"max", 5000}}, 10s);
    ASSERT_TRUE(r);
    if ((*r)["events"].empty()) break;
    for (auto& e : (*r)["events"]) {
      ASSERT_EQ(e["seq"], next++) << "seq is dense";
      ASSERT_TRUE(ids.insert(e["id"].get<std::string>()).second) << "duplicate " << e["id"];
    }
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(next_cmd)) << "every command exactly once";
  std::cout << "[ fault    ] " << rounds() << " kill rounds, " << next_cmd << " commands, "
            << acked_seq.size() << " acknowledged before a kill or at the end\n";
}

// The index checkpoint's child (a fork) dies with rill-core and never holds
// the journal's lock: one that outlived a SIGKILLed rill-core kept it, and a
// restart right after was refused for seconds (an outside probe).
TEST(core_fault, TheCheckpointChildDoesNotOutliveAKilledRillCore) {
  test::temp_dir dir;
  std::vector<size_t> sizes;
  test::write_customer_journal(dir.path() / "journal", 200'000, sizes);
  zmq::context_t ctx;
  const auto eps = transport::default_endpoints(dir.path());
  const auto partial = dir.path() / "index" / "checkpoint.idx.partial";
  int caught = 0;  // rounds that killed rill-core while its child was writing
  for (int round = 0; round < 8 && caught < 3; ++round) {
    test::child_process core(
        {std::string(RILL_BIN_DIR) + "/rill-core", "--data", dir.path().string(),
         "--checkpoint-every", "1", "--checkpoint-interval-s", "0"},
        (dir.path() / "core.log").string());
    ASSERT_TRUE(test::comes_up(ctx, eps.command));
    transport::rpc_client c(ctx, eps.command);
    auto r = c.call({{"cmd", "CREATE_CUSTOMER"},
                     {"agg", "customer"},
                     {"id", "n" + std::to_string(round)},
                     {"data", {{"name", "N"}, {"email", "n@example.com"}}}},
                    10s);
    ASSERT_TRUE(r && (*r)["ok"] == true);
    // A checkpoint is due after every event: catch its child writing.
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (!std::filesystem::exists(partial) && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(200us);
    if (!std::filesystem::exists(partial)) continue;
    core.kill(SIGKILL);
    ++caught;
    // The lock is free as soon as rill-core is gone (kill() reaped it), not
    // when the child would have finished.
    const int fd = ::open((dir.path() / "journal" / "LOCK").c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    const bool locked = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    ::close(fd);
    EXPECT_TRUE(locked) << "something still holds the journal's lock after rill-core died";
  }
  EXPECT_GT(caught, 0) << "no checkpoint child was seen writing in 8 rounds";
}

TEST(core_fault, KillRoundsSyncNone) { kill_rounds("none"); }
TEST(core_fault, KillRoundsSyncBatch) { kill_rounds("batch"); }

}  // namespace
}  // namespace rill
