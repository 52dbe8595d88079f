// make_private_dir: a missing directory is created 0700; an existing one
// keeps its mode (a daemon given `--data /tmp` once made /tmp 0700).
#include "core/private_dir.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/support/child_process.h"

namespace rill {
namespace {

namespace fs = std::filesystem;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

TEST(PrivateDir, AMissingDirectoryAndItsParentsAreCreatedPrivate) {
  test::temp_dir t;
  const fs::path d = t.path() / "a" / "b" / "d";
  const mode_t old_umask = ::umask(0);  // parents took the umask's mode
  make_private_dir(d);
  ::umask(old_umask);
  ASSERT_TRUE(fs::is_directory(d));
  EXPECT_EQ(mode_of(d), 0700u);
  EXPECT_EQ(mode_of(t.path() / "a"), 0700u);
  EXPECT_EQ(mode_of(t.path() / "a" / "b"), 0700u);
  make_private_dir(d);  // again: nothing to do
  EXPECT_EQ(mode_of(d), 0700u);
}

TEST(PrivateDir, AnExistingDirectoryKeepsItsMode) {
  test::temp_dir t;
  for (unsigned mode : {01777u, 0755u, 0750u}) {
    const fs::path d = t.path() / ("m" + std::to_string(mode));
    fs::create_directory(d);
    ASSERT_EQ(::chmod(d.c_str(), mode), 0);
    make_private_dir(d);
    EXPECT_EQ(mode_of(d), mode) << std::oct << mode;
    make_private_dir(d / "inner");
    EXPECT_EQ(mode_of(d), mode) << "the parent of a new directory is left alone";
    EXPECT_EQ(mode_of(d / "inner"), 0700u);
  }
  // Through a symlink to a directory: followed, the target left alone.
  const fs::path target = t.path() / ("m" + std::to_string(01777u));
  fs::create_directory_symlink(target, t.path() / "link");
  make_private_dir(t.path() / "link");
  EXPECT_EQ(mode_of(target), 01777u);
}

TEST(PrivateDir, APathThatIsNotADirectoryIsRefused) {
  test::temp_dir t;
  {
    std::FILE* f = std::fopen((t.path() / "file").c_str(), "w");
    std::fclose(f);
  }
  EXPECT_THROW(make_private_dir(t.path() / "file"), fs::filesystem_error);
  EXPECT_THROW(make_private_dir(t.path() / "file" / "below"), fs::filesystem_error);
  fs::create_symlink(t.path() / "nowhere", t.path() / "dangling");
  EXPECT_THROW(make_private_dir(t.path() / "dangling"), fs::filesystem_error);
  EXPECT_FALSE(fs::exists(t.path() / "nowhere")) << "a dangling link is not followed";
}

}  // namespace
}  // namespace rill
