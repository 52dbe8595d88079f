// Slow rill-proj daemon scenarios: a stopped daemon catches up on a large
// backlog once it runs again.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>

#include "tests/readmodels/runtime_test_util.h"

namespace rill::test {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(ProjDaemonSlow, StoppedDaemonCatchesUpAfterSigcont) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal", 16 << 20);
  j.append_many(1000, 10);
  const auto log = (dir.path() / "proj.log").string();
  child_process p({RILL_BIN_DIR "/rill-proj", "--data", dir.path().string(), "--models",
                   "journal_stats", "--notify-in", "none"},
                  log);
  const auto ep = transport::default_model_endpoint(dir.path(), "journal_stats");
  ASSERT_TRUE(wait_applied(ctx, ep, 1000)) << read_file(log);
  p.signal(SIGSTOP);
  j.append_many(200000, 5000, "backlog");
  p.signal(SIGCONT);
  ASSERT_TRUE(wait_applied(ctx, ep, j.head(), std::chrono::seconds(60))) << read_file(log);
  auto r = query(ctx, ep, {{"q", "status"}});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["result"]["lag"], 0);
  EXPECT_EQ((*r)["result"]["events_applied"], j.head());
  EXPECT_EQ(digest(ctx, ep), expected_digest(dir.path() / "journal"));
  const int status = p.kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_file(log);
}

}  // namespace
}  // namespace rill::test
