// Fault: the next segment file cannot be allocated (a file size limit stands
// in for a full disk). Appends fail with io_error, nothing partial becomes
// visible, and the journal stays sound and usable.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "store/journal_verify.h"
#include "store/journal_writer.h"
#include "tests/store/journal_test_util.h"

namespace rill::store::testing {
namespace {

TEST(JournalDiskFull, AppendFailsCleanlyWhenNextSegmentCannotBeAllocated) {
  temp_dir t;
  auto o = small_options(t.journal());  // segment 1 is 64 KiB
  ASSERT_TRUE(open_writer(o));
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(p[0]);
    // New segments (128 KiB) exceed the limit; segment 1 does not.
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {100 << 10, 100 << 10};
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(10);
    auto big = o;
    big.segment_size = 128 << 10;
    recovery_report r;
    auto w = journal_writer::open(big, r);
    if (!w) ::_exit(11);
    uint64_t seq = 1;
    io_status s = io_status::ok;
    while (s == io_status::ok && seq < 100'000) {
      for (int i = 0; i < 10 && s == io_status::ok; ++i, ++seq) s = w->append(seq, body_for(seq));
      if (s == io_status::ok) w->publish();
    }
    if (s != io_status::io_error) ::_exit(12);
    if (w->last_error().empty()) ::_exit(13);
    const uint64_t failed_seq = seq - 1;
    w->discard_unpublished();
    const uint64_t head = w->published_head();
    // The batch's room in segment 1 is free again; the same record fails again.
    uint64_t again = head + 1;
    while (w->append(again, body_for(again)) == io_status::ok) ++again;
    if (again != failed_seq) ::_exit(14);
    w->discard_unpublished();
    if (::write(p[1], &head, 8) != 8) ::_exit(15);
    w.reset();
    ::_exit(0);
  }
  ::close(p[1]);
  uint64_t head = 0;
  const ssize_t got = ::read(p[0], &head, 8);
  ::close(p[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);  // else: the child's numbered check failed
  ASSERT_EQ(got, 8);
  EXPECT_GT(head, 100u);

  auto v = verify_journal(o.dir);
  EXPECT_EQ(v.status, io_status::ok) << v.message;
  EXPECT_EQ(v.head, head);
  EXPECT_EQ(v.torn_tail_bytes, 0u) << v.message;
  EXPECT_EQ(read_all(o.dir), head);
  for (auto& e : std::filesystem::directory_iterator(o.dir)) {
    EXPECT_FALSE(e.path().string().ends_with(".tmp")) << e.path();
  }
  // With space back, the writer carries on.
  auto w = open_writer(o);
  ASSERT_TRUE(w);
  append_range(*w, head + 1, head + 2000, 10);
  w.reset();
  EXPECT_EQ(read_all(o.dir), head + 2000);
}

}  // namespace
}  // namespace rill::store::testing
