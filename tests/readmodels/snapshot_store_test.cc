#include "readmodels/snapshot_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/support/child_process.h"

namespace rill::readmodels {
namespace {

namespace fs = std::filesystem;

std::span<const char> bytes(const std::string& s) {
  return {s.data(), s.size()};
}

void write_raw(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

std::string read_raw(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(SnapshotStore, WriteReadAndKeepNewestTwo) {
  test::temp_dir tmp;
  snapshot_store st(tmp.path() / "models" / "m", "m", 2);
  std::string msg;
  ASSERT_EQ(st.open(msg), snapshot_status::ok) << msg;
  struct stat sb {};
  ASSERT_EQ(::stat((tmp.path() / "models" / "m").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0700u);
  for (uint64_t seq : {10, 20, 30}) {
    ASSERT_EQ(st.write(seq, 7, 99, bytes("state@" + std::to_string(seq)), msg), snapshot_status::ok)
        << msg;
  }
  EXPECT_EQ(st.list(msg), (std::vector<uint64_t>{30, 20}));
  loaded_snapshot snap;
  ASSERT_EQ(st.read(30, snap, msg), snapshot_status::ok) << msg;
  EXPECT_EQ(std::string(snap.body.data(), snap.body.size()), "state@30");
  EXPECT_EQ(snap.hdr.event_fingerprint, 7u);
  EXPECT_EQ(snap.hdr.created_ns, 99u);
  EXPECT_EQ(st.read(10, snap, msg), snapshot_status::not_found);
  // No partial file is left behind.
  for (const auto& e : fs::directory_iterator(st.dir()))
    EXPECT_FALSE(e.path().string().ends_with(".partial")) << e.path();
}

TEST(SnapshotStore, OpenRemovesStrayPartialFiles) {
  test::temp_dir tmp;
  const auto dir = tmp.path() / "m";
  fs::create_directories(dir);
  write_raw(dir / "snap-00000000000000000005.rsnap.partial", "half");
  snapshot_store st(dir, "m");
  std::string msg;
  ::chmod(tmp.path().c_str(), 0755);
  ASSERT_EQ(st.open(msg), snapshot_status::ok);
  EXPECT_FALSE(fs::exists(dir / "snap-00000000000000000005.rsnap.partial"));
  // Its own directory is made private; its parent is left alone (it made
  // /tmp 0700 once, when a store opened a directory right under it).
  struct stat sb {};
  ASSERT_EQ(::stat(dir.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(tmp.path().c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0755u);
}

TEST(SnapshotStore, CorruptFilesAreReportedNotLoaded) {
  test::temp_dir tmp;
  snapshot_store st(tmp.path(), "m");
  std::string msg;
  ASSERT_EQ(st.open(msg), snapshot_status::ok);
  ASSERT_EQ(st.write(5, 1, 1, bytes("good state"), msg), snapshot_status::ok);
  const auto path = st.path_of(5);
  std::string file = read_raw(path);
  file.back() ^= 0x40;
  write_raw(path, file);
  loaded_snapshot snap;
  EXPECT_EQ(st.read(5, snap, msg), snapshot_status::corrupt);
  EXPECT_NE(msg.find("body checksum"), std::string::npos) << msg;
  write_raw(path, file.substr(0, 10));
  EXPECT_EQ(st.read(5, snap, msg), snapshot_status::corrupt);
  write_raw(path, "");
  EXPECT_EQ(st.read(5, snap, msg), snapshot_status::corrupt);
  st.remove(5);
  EXPECT_FALSE(fs::exists(path));
}

TEST(SnapshotStore, AnotherModelsFileIsCorrupt) {
  test::temp_dir tmp;
  snapshot_store a(tmp.path(), "a"), b(tmp.path(), "b");
  std::string msg;
  ASSERT_EQ(a.open(msg), snapshot_status::ok);
  ASSERT_EQ(a.write(3, 0, 0, bytes("x"), msg), snapshot_status::ok);
  loaded_snapshot snap;
  EXPECT_EQ(b.read(3, snap, msg), snapshot_status::corrupt);
  EXPECT_NE(msg.find("model 'a'"), std::string::npos) << msg;
}

TEST(SnapshotStore, RenamedFileWithWrongSeqIsCorrupt) {
  test::temp_dir tmp;
  snapshot_store st(tmp.path(), "m");
  std::string msg;
  ASSERT_EQ(st.open(msg), snapshot_status::ok);
  ASSERT_EQ(st.write(3, 0, 0, bytes("x"), msg), snapshot_status::ok);
  fs::rename(st.path_of(3), st.path_of(4));
  loaded_snapshot snap;
  EXPECT_EQ(st.read(4, snap, msg), snapshot_status::corrupt);
}

TEST(SnapshotStore, WriteFailsCleanlyWhenDirectoryIsGone) {
  test::temp_dir tmp;
  snapshot_store st(tmp.path() / "gone", "m");
  std::string msg;
  EXPECT_EQ(st.write(1, 0, 0, bytes("x"), msg), snapshot_status::io_error);
  EXPECT_FALSE(msg.empty());
}

TEST(SnapshotStore, LoadedSnapshotOutlivesMoves) {
  test::temp_dir tmp;
  snapshot_store st(tmp.path(), "m");
  std::string msg;
  ASSERT_EQ(st.open(msg), snapshot_status::ok);
  const std::string big(1 << 20, 'z');
  ASSERT_EQ(st.write(9, 0, 0, bytes(big), msg), snapshot_status::ok);
  loaded_snapshot a;
  ASSERT_EQ(st.read(9, a, msg), snapshot_status::ok);
  loaded_snapshot b = std::move(a);
  EXPECT_TRUE(a.body.empty());
  ASSERT_EQ(b.body.size(), big.size());
  EXPECT_EQ(b.body[12345], 'z');
}

}  // namespace
}  // namespace rill::readmodels
