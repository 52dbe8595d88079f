// journal_bell: the writer rings it on every publish, and a reader sleeping
// on it in another process is woken by that ring.
#include "store/journal_bell.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "store/journal_writer.h"
#include "tests/store/journal_test_util.h"

namespace rill::store::testing {
namespace {

TEST(JournalBell, TheWriterCreatesItAndEveryPublishRingsIt) {
  temp_dir t;
  auto w = open_writer(small_options(t.journal()));
  ASSERT_TRUE(w);
  auto bell = journal_bell::open_reader(t.journal());
  ASSERT_TRUE(bell);
  const uint32_t r0 = bell->rings();
  ASSERT_EQ(w->append(1, "a"), io_status::ok);
  EXPECT_EQ(bell->rings(), r0) << "an append alone is not visible, so it does not ring";
  w->publish();
  EXPECT_EQ(bell->rings(), r0 + 1);
  ASSERT_EQ(w->append(2, "b"), io_status::ok);
  ASSERT_EQ(w->append(3, "c"), io_status::ok);
  w->publish();
  EXPECT_EQ(bell->rings(), r0 + 2) << "one ring per published group";
  w->publish();
  EXPECT_EQ(bell->rings(), r0 + 2) << "a publish with nothing pending does not ring";
}

TEST(JournalBell, AReaderGetsNoBellWhereThereIsNoValidBellFile) {
  temp_dir t;
  std::filesystem::create_directories(t.journal());
  EXPECT_FALSE(journal_bell::open_reader(t.journal())) << "no file";
  const auto file = t.journal() / "BELL";
  { std::ofstream(file) << "short"; }
  EXPECT_FALSE(journal_bell::open_reader(t.journal())) << "shorter than a page";
  std::filesystem::resize_file(file, 4096);
  EXPECT_FALSE(journal_bell::open_reader(t.journal())) << "no magic";
  ASSERT_TRUE(journal_bell::open_writer(t.journal())) << "the writer repairs it";
  EXPECT_TRUE(journal_bell::open_reader(t.journal()));
}

TEST(JournalBell, TheWriterResetsTheSleeperCountAndLeavingSaturatesAtZero) {
  temp_dir t;
  std::filesystem::create_directories(t.journal());
  auto first = journal_bell::open_writer(t.journal());
  ASSERT_TRUE(first);
  auto reader = journal_bell::open_reader(t.journal());
  ASSERT_TRUE(reader);
  (void)reader->enter();
  (void)reader->enter();
  EXPECT_EQ(first->sleepers(), 2u);
  // A reader killed while asleep leaves its count behind; a new writer
  // starts from zero, and the live reader's leave() does not wrap around.
  auto second = journal_bell::open_writer(t.journal());
  ASSERT_TRUE(second);
  EXPECT_EQ(reader->sleepers(), 0u);
  reader->leave();
  reader->leave();
  EXPECT_EQ(reader->sleepers(), 0u);
  const uint32_t r = reader->rings();
  second->ring();
  EXPECT_EQ(reader->rings(), r + 1) << "both mappings share one page";
}

TEST(JournalBell, APublishWakesAReaderAsleepInAnotherProcess) {
  temp_dir t;
  auto w = open_writer(small_options(t.journal()));
  ASSERT_TRUE(w);
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: sleeps on the bell for up to 60 s; exits 0 if a ring woke it.
    auto bell = journal_bell::open_reader(t.journal());
    if (!bell) ::_exit(2);
    const uint32_t seen = bell->enter();
    const char c = 'r';
    if (::write(ready[1], &c, 1) != 1) ::_exit(3);
    const auto start = std::chrono::steady_clock::now();
    while (bell->rings() == seen &&
           std::chrono::steady_clock::now() - start < std::chrono::seconds(60))
      bell->sleep(seen, std::chrono::seconds(60));
    const bool woken = std::chrono::steady_clock::now() - start < std::chrono::seconds(30);
    bell->leave();
    ::_exit(woken && bell->rings() != seen ? 0 : 1);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ::close(ready[1]);
  auto bell = journal_bell::open_reader(t.journal());
  ASSERT_TRUE(bell);
  EXPECT_EQ(bell->sleepers(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // most likely asleep by now
  ASSERT_EQ(w->append(1, "wake up"), io_status::ok);
  w->publish();
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: not woken within 30 s; 2: no bell; 3: pipe";
  EXPECT_EQ(bell->sleepers(), 0u);
}

}  // namespace
}  // namespace rill::store::testing
