// Journal damage with the daemon stopped, then rill-core started on it:
// garbage after the tail, a tail record truncated mid-record, a zeroed tail
// are dropped (start-up keeps every sound record and says what it dropped);
// a flipped byte in an early record and a missing segment file are refused
// with the position, and nothing is changed on disk. `rill journal verify`
// agrees with the daemon in every case.
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "store/journal_format.h"
#include "store/journal_writer.h"
#include "tests/daemons/cli_support.h"
#include "transport/client.h"

namespace rill::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// True once `pid` has exited (a zombie not yet reaped): unlike waitpid, this
// leaves the exit status for child_process::wait.
bool exited(pid_t pid) {
  const std::string st = slurp("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = st.rfind(')');
  return st.empty() || (paren != std::string::npos && paren + 2 < st.size() && st[paren + 2] == 'Z');
}

class CoreDamage : public ::testing::Test {
 protected:
  void write_journal(uint64_t events) {
    write_customer_journal(dir_.path() / "journal", events, sizes_);
  }
  fs::path seg(uint32_t i) const {
    return dir_.path() / "journal" / store::format::segment_file_name(i);
  }
  uint64_t offset_of(uint64_t seq) const { return record_offset(sizes_, seq); }
  void write_at(const fs::path& p, uint64_t off, const std::string& bytes) {
    int fd = ::open(p.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(off)),
              static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  }
  nlohmann::json verify() {
    auto r = run_rill({"journal", "verify", "--json", "--data", dir_.path().string()});
    auto j = parse_json(r.out);
    j["exit"] = r.code;
    return j;
  }
  std::string log() const { return (dir_.path() / "core.log").string(); }

  // Starts rill-core; true with its head when it comes up, false (and the
  // process reaped) when it refuses to start.
  bool start(uint64_t& head) {
    core_.start({std::string(RILL_BIN_DIR) + "/rill-core", "--data", dir_.path().string(),
                 "--segment-size", std::to_string(64 << 10)},
                log());
    zmq::context_t ctx;
    const std::string ep = "ipc://" + (dir_.path() / "run" / "command").string();
    std::optional<nlohmann::json> st;
    const bool up = eventually(
        [&] {
          if (exited(core_.pid())) return true;
          transport::rpc_client c(ctx, ep);
          st = c.call({{"op", "status"}}, 300ms);
          return st.has_value();
        },
        20s);
    EXPECT_TRUE(up);
    if (!st) {
      exit_status_ = core_.wait(10s);
      return false;
    }
    head = (*st)["head"];
    return true;
  }
  void stop() { EXPECT_EQ(core_.kill(SIGTERM), 0) << slurp(log()); }

  temp_dir dir_{"rdamage"};
  std::vector<size_t> sizes_;
  child_process core_;
  int exit_status_ = -1;
};

TEST_F(CoreDamage, GarbageAfterTheTailIsDropped) {
  write_journal(10);
  write_at(seg(1), offset_of(11), std::string(200, '\xab'));
  uint64_t head = 0;
  ASSERT_TRUE(start(head)) << slurp(log());
  EXPECT_EQ(head, 10u);
  EXPECT_NE(slurp(log()).find("dropped 200 bytes"), std::string::npos) << slurp(log());
  stop();
  auto v = verify();
  EXPECT_EQ(v["exit"], 0) << v.dump();
  EXPECT_EQ(v["head"], 10);
}

TEST_F(CoreDamage, ATailRecordTruncatedMidRecordIsDropped) {
  write_journal(10);
  ASSERT_EQ(::truncate(seg(1).c_str(), static_cast<off_t>(offset_of(10) + 11)), 0);
  auto before = verify();
  EXPECT_EQ(before["head"], 9) << before.dump();
  uint64_t head = 0;
  ASSERT_TRUE(start(head)) << slurp(log());
  EXPECT_EQ(head, 9u) << slurp(log());
  EXPECT_NE(slurp(log()).find("dropped 11 bytes"), std::string::npos) << slurp(log());
  stop();
  auto v = verify();
  EXPECT_EQ(v["exit"], 0) << v.dump();
  EXPECT_EQ(v["head"], 9);
}

TEST_F(CoreDamage, AZeroedTailIsDropped) {
  write_journal(10);
  write_at(seg(1), offset_of(10), std::string(store::format::record_size(sizes_[9]), '\0'));
  auto before = verify();
  EXPECT_EQ(before["head"], 9) << before.dump();
  uint64_t head = 0;
  ASSERT_TRUE(start(head)) << slurp(log());
  EXPECT_EQ(head, 9u);
  stop();
  EXPECT_EQ(verify()["exit"], 0);
}

TEST_F(CoreDamage, AFlippedByteInAnEarlyRecordIsRefusedWithItsPosition) {
  write_journal(10);
  const uint64_t off = offset_of(4);
  const auto bytes = slurp(seg(1));
  write_at(seg(1), off + store::format::kRecBody + 3,
           std::string(1, static_cast<char>(bytes[off + store::format::kRecBody + 3] ^ 0x5a)));
  auto before = verify();
  EXPECT_EQ(before["exit"], 1);
  EXPECT_EQ(before["corruption"]["seq"], 4) << before.dump();
  uint64_t head = 0;
  ASSERT_FALSE(start(head)) << "started on a corrupt journal, head " << head;
  ASSERT_TRUE(WIFEXITED(exit_status_));
  // 3: the data needs an operator (rill up does not restart it for ever).
  EXPECT_EQ(WEXITSTATUS(exit_status_), 3);
  const std::string text = slurp(log());
  EXPECT_NE(text.find("seq 4"), std::string::npos) << text;
  EXPECT_NE(text.find("offset " + std::to_string(off)), std::string::npos) << text;
  EXPECT_NE(text.find("rill journal truncate --data " + dir_.path().string() + " --after 3"),
            std::string::npos)
      << text;
  // Nothing was changed: verify still finds the same record, and the sound
  // records after it are still on disk.
  auto after = verify();
  EXPECT_EQ(after["corruption"], before["corruption"]);
  EXPECT_EQ(slurp(seg(1)).size(), bytes.size());

  // The operator's way out, as the log says: cut after seq 3, start again.
  auto cut =
      run_rill({"journal", "truncate", "--data", dir_.path().string(), "--after", "3", "--yes"});
  ASSERT_EQ(cut.code, 0) << cut.err;
  ASSERT_TRUE(start(head)) << slurp(log());
  EXPECT_EQ(head, 3u);
}

TEST_F(CoreDamage, AMissingSegmentIsRefused) {
  write_journal(3000);  // several 64 KiB segments
  ASSERT_TRUE(fs::exists(seg(3)));
  fs::remove(seg(2));
  auto before = verify();
  EXPECT_EQ(before["exit"], 1) << before.dump();
  uint64_t head = 0;
  ASSERT_FALSE(start(head)) << "started with a segment missing, head " << head;
  const std::string text = slurp(log());
  EXPECT_NE(text.find("missing"), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(seg(3))) << "later segments are kept";
}

}  // namespace
}  // namespace rill::test
