// daemons/rill/process_util: what `rill down` and the supervisor use to
// tell whether a process is gone.
#include "daemons/rill/process_util.h"

#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/child_process.h"

namespace rill::cli {
namespace {

using namespace std::chrono_literals;

char state_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? '?' : line[close + 2];
}

// A process whose main thread has ended shows as a zombie in /proc/PID/stat
// while its other threads still run (and hold its files and flocks, as a
// SIGKILLed daemon's exiting threads do for a moment): it is alive until the
// last one ends.
TEST(ProcessUtil, AProcessIsAliveUntilItsLastThreadEnds) {
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(go[1]);
    pthread_t t;
    ::pthread_create(
        &t, nullptr,
        [](void* fd) -> void* {
          char c;
          while (::read(*static_cast<int*>(fd), &c, 1) < 0) {
          }
          ::_exit(0);  // the whole process
        },
        &go[0]);
    ::syscall(SYS_exit, 0);  // the main thread alone
  }
  ::close(go[0]);
  ASSERT_TRUE(test::eventually([&] { return state_of(pid) == 'Z'; }, 10s)) << state_of(pid);
  EXPECT_TRUE(process_alive(pid)) << "its second thread still runs";
  ASSERT_EQ(::write(go[1], "x", 1), 1);
  ::close(go[1]);
  EXPECT_TRUE(test::eventually([&] { return !process_alive(pid); }, 10s));
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_FALSE(process_alive(pid));
}

}  // namespace
}  // namespace rill::cli
