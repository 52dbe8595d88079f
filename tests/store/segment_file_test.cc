// segment_file's mappings: the writer's read-write mapping is advised random
// access (so that the kernel maps single pages, not large folios, and a
// flush writes back only the pages the records touched); read-only mappings
// keep the default readahead.
#include "store/segment_file.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/store/journal_test_util.h"

namespace rill::store {
namespace {

// The VmFlags line of the mapping that starts at `addr`, from /proc/self/smaps.
std::string vm_flags_of(const void* addr) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_it = false;
  const auto want = reinterpret_cast<uintptr_t>(addr);
  while (std::getline(smaps, line)) {
    const size_t dash = line.find('-');
    if (dash != std::string::npos && dash > 0 && line.find(' ') > dash &&
        line.find_first_not_of("0123456789abcdef") == dash) {
      in_it = std::stoull(line.substr(0, dash), nullptr, 16) == want;
      continue;
    }
    if (in_it && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

bool has_flag(const std::string& vm_flags, const std::string& flag) {
  std::istringstream in(vm_flags.substr(8));
  std::string f;
  while (in >> f)
    if (f == flag) return true;
  return false;
}

TEST(SegmentFile, TheWritersMappingIsAdvisedRandomAndReadersKeepReadahead) {
  testing::temp_dir dir;
  std::unique_ptr<segment_file> w;
  std::string err;
  ASSERT_EQ(segment_file::create(dir.path(), 1, 1 << 20, 1, w, err), io_status::ok) << err;
  const std::string wf = vm_flags_of(w->data());
  ASSERT_FALSE(wf.empty()) << "no mapping found at the segment's address";
  EXPECT_TRUE(has_flag(wf, "rr")) << wf;
  EXPECT_TRUE(has_flag(wf, "sh")) << wf;  // shared: the page cache readers see

  std::unique_ptr<segment_file> r;
  ASSERT_EQ(segment_file::open(w->path(), segment_file::access::read_only, false, 1, r, err),
            io_status::ok)
      << err;
  const std::string rf = vm_flags_of(r->data());
  ASSERT_FALSE(rf.empty());
  EXPECT_FALSE(has_flag(rf, "rr")) << rf;

  std::unique_ptr<segment_file> w2;
  ASSERT_EQ(segment_file::open(w->path(), segment_file::access::read_write, true, 1, w2, err),
            io_status::ok)
      << err;
  EXPECT_TRUE(has_flag(vm_flags_of(w2->data()), "rr"));
}

}  // namespace
}  // namespace rill::store
