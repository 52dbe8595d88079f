// Disk full, through the daemon: rill-core runs on a small tmpfs and takes
// commands until the file system is full. Commands then get `unavailable`
// (never a partial record, never a crash); the journal verifies; once space
// is freed and the daemon restarted, appends continue after the last
// acknowledged event, and every acknowledged event is there exactly once.
// Needs root (mount); skipped with a message otherwise.
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "tests/daemons/cli_support.h"
#include "transport/client.h"

namespace rill::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

std::string bin(const std::string& name) {
  return std::string(RILL_BIN_DIR) + "/" + name;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

class CoreDiskFull : public ::testing::Test {
 protected:
  void SetUp() override {
    mnt_ = dir_.path() / "mnt";
    fs::create_directories(mnt_);
    if (::geteuid() != 0 || ::mount("tmpfs", mnt_.c_str(), "tmpfs", 0, "size=8m,mode=0700") != 0)
      GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
    mounted_ = true;
    data_ = mnt_ / "d";
    log_ = (dir_.path() / "core.log").string();  // the log lives off the full disk
  }
  void TearDown() override {
    core_.kill(SIGKILL);
    if (mounted_) ::umount2(mnt_.c_str(), MNT_DETACH);
  }
  void start() {
    core_.start({bin("rill-core"), "--data", data_.string(), "--segment-size",
                 std::to_string(1 << 20), "--sync", "batch", "--checkpoint-every", "1000000"},
                log_);
    ASSERT_TRUE(eventually([&] { return call({{"op", "ping"}}, 300ms).has_value(); }, 20s))
        << read_file(log_);
  }
  std::optional<json> call(json req, std::chrono::milliseconds t = 5000ms) {
    transport::rpc_client c(ctx_, "ipc://" + (data_ / "run" / "command").string());
    return c.call(std::move(req), t);
  }
  std::pair<int, std::string> run_verify() {
    auto r = run_rill({"journal", "verify", "--data", data_.string()});
    return {r.code, r.out + r.err};
  }
  static json create(const std::string& id) {
    return {{"cmd", "CREATE_CUSTOMER"},
            {"agg", "customer"},
            {"id", id},
            {"key", "k-" + id},
            {"data", {{"name", std::string(300, 'n')}, {"email", id + "@example.com"}}}};
  }

  temp_dir dir_{"rdiskfull"};
  fs::path mnt_, data_;
  std::string log_;
  bool mounted_ = false;
  zmq::context_t ctx_;
  child_process core_;
};

TEST_F(CoreDiskFull, UnavailableWhenFullThenAppendsContinueAfterSpaceIsFreed) {
  // Ballast that will be freed later: 1 MiB of the 8 while rill-core runs,
  // 2 MiB before its restart (the first MiB is taken again by then: the
  // segments rill-core allocates once writes resume, and its index
  // checkpoint at the stop; without room, the restart cannot even write its
  // pid file).
  for (const auto& [name, mib] : {std::pair{"ballast", 1}, std::pair{"ballast2", 2}}) {
    std::ofstream b(mnt_ / name, std::ios::binary);
    const std::string mb(1 << 20, 'x');
    for (int i = 0; i < mib; ++i) b << mb;
  }
  start();
  std::map<std::string, uint64_t> acked;  // id -> seq
  int unavailable = 0, sent = 0;
  for (int batch = 0; batch < 400 && unavailable < 200; ++batch) {
    json cmds = json::array();
    for (int k = 0; k < 64; ++k) cmds.push_back(create("c" + std::to_string(sent++)));
    auto r = call({{"batch", cmds}}, 10000ms);
    ASSERT_TRUE(r.has_value()) << "rill-core stopped answering: " << read_file(log_);
    ASSERT_EQ((*r)["ok"], true) << r->dump();
    for (size_t k = 0; k < cmds.size(); ++k) {
      const auto& x = (*r)["results"][k];
      if (x["ok"] == true) {
        acked[cmds[k]["id"]] = x["seq"];
      } else {
        ASSERT_EQ(x["error"], "unavailable") << x.dump();
        ++unavailable;
      }
    }
  }
  ASSERT_GT(unavailable, 0) << "the file system never filled up";
  ASSERT_GT(acked.size(), 1000u);
  // Still alive and saying why.
  auto st = call({{"op", "status"}});
  ASSERT_TRUE(st.has_value()) << read_file(log_);
  EXPECT_TRUE(core_.running());
  // A single command also gets unavailable with a message.
  auto one = call(create("one-more"));
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ((*one)["error"], "unavailable") << one->dump();
  EXPECT_FALSE((*one)["message"].get<std::string>().empty());
  // And the operator reads why in the log (it said nothing).
  EXPECT_NE(read_file(log_).find("the journal refused writes: "), std::string::npos)
      << read_file(log_);
  // Space freed while it runs: writes are accepted again, and the log says so.
  fs::remove(mnt_ / "ballast");
  EXPECT_TRUE(eventually(
      [&] {
        auto r = call(create("resumed"));
        if (!r || (*r)["ok"] != true) return false;
        acked["resumed"] = (*r)["seq"];
        return true;
      },
      10s))
      << read_file(log_);
  // (logged after the batch's replies are sent: it may come a moment later)
  EXPECT_TRUE(eventually(
      [&] { return read_file(log_).find("the journal accepts writes again") != std::string::npos; },
      10s))
      << read_file(log_);

  // Stop; the journal that filled the disk verifies (no partial record visible).
  core_.kill(SIGTERM, 20s);
  auto v = run_verify();
  EXPECT_EQ(v.first, 0) << v.second;

  // Free space, restart, continue.
  fs::remove(mnt_ / "ballast2");
  start();
  const uint64_t last = acked.empty() ? 0 : std::max_element(acked.begin(), acked.end(), [](auto& a, auto& b) {
                                                return a.second < b.second;
                                              })->second;
  auto after = call(create("after-free"));
  ASSERT_TRUE(after.has_value());
  ASSERT_EQ((*after)["ok"], true) << after->dump() << read_file(log_);
  EXPECT_EQ((*after)["seq"], last + 1);
  // Every acknowledged event exactly once, dense, with its seq.
  transport::rpc_client replay(ctx_, "ipc://" + (data_ / "run" / "replay").string());
  std::set<std::string> seen;
  uint64_t next = 1;
  for (;;) {
    auto r = replay.call({{"from", next}, {"max", 4096}});
    ASSERT_TRUE(r && (*r)["ok"] == true);
    if ((*r)["events"].empty()) break;
    for (const auto& e : (*r)["events"]) {
      ASSERT_EQ(e["seq"], next) << "seq must be dense";
      ++next;
      const std::string id = e["id"];
      EXPECT_TRUE(seen.insert(id).second) << id << " twice";
      if (auto it = acked.find(id); it != acked.end()) {
        EXPECT_EQ(e["seq"], it->second) << id;
      }
    }
  }
  for (const auto& [id, seq] : acked) EXPECT_TRUE(seen.contains(id)) << id << " (seq " << seq << ") lost";
  EXPECT_EQ(next, last + 2);
}

}  // namespace
}  // namespace rill::test
