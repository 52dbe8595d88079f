// segment_supply's prefaulter: it keeps the window ahead of the writer's
// position populated (seen with mincore: the pages are in memory, the ones
// beyond the window are not) and prepares the next segment file once the
// writer is past half of the current one.
#include "store/segment_supply.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/store/journal_test_util.h"

namespace rill::store {
namespace {

using namespace std::chrono_literals;

size_t page_size() {
  return static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

// Pages of [from, to) of the segment's mapping that are in memory.
size_t resident_pages(const segment_file& f, uint64_t from, uint64_t to) {
  std::vector<unsigned char> v((to - from) / page_size());
  if (::mincore(f.data() + from, to - from, v.data()) != 0) return SIZE_MAX;
  size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

template <class F>
bool eventually(F f) {
  for (int i = 0; i < 500; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

TEST(SegmentSupply, PopulatesTheWindowAheadOfTheWriterAndPreparesTheNextSegment) {
  testing::temp_dir t;
  std::filesystem::create_directories(t.journal());
  constexpr uint64_t kSize = 16 << 20, kAhead = 2 << 20;
  segment_supply supply({t.journal(), kSize, kAhead, nullptr});
  std::shared_ptr<segment_file> seg;
  std::string error;
  ASSERT_EQ(supply.take(1, seg, error), io_status::ok) << error;
  supply.set_current(seg, format::kHeaderSize);

  // The window [header, header + ahead) gets populated, in several steps;
  // nothing past it is touched.
  ASSERT_TRUE(eventually([&] { return supply.populated_ahead() >= kAhead; }))
      << supply.populated_ahead();
  const size_t page = page_size();
  EXPECT_EQ(resident_pages(*seg, 0, kAhead), kAhead / page);
  EXPECT_EQ(resident_pages(*seg, kAhead + (64 << 10), kSize), 0u) << "pages beyond the window";

  // The writer moves past half the segment: the window follows it, and the
  // next segment is prepared before the writer asks for it.
  const uint64_t pos = 9 << 20;
  supply.note_position(pos);
  supply.poke(pos);
  ASSERT_TRUE(eventually([&] { return supply.populated_ahead() >= kAhead; }))
      << supply.populated_ahead();
  EXPECT_EQ(resident_pages(*seg, pos, pos + kAhead), kAhead / page);
  EXPECT_EQ(resident_pages(*seg, 12 << 20, kSize), 0u);
  ASSERT_TRUE(eventually(
      [&] { return std::filesystem::exists(t.journal() / format::segment_file_name(2)); }));
  std::shared_ptr<segment_file> next;
  ASSERT_EQ(supply.take(2, next, error), io_status::ok) << error;
  EXPECT_EQ(next->index(), 2u);
  // The prepared segment's start is populated too.
  ASSERT_TRUE(eventually([&] { return resident_pages(*next, 0, kAhead) == kAhead / page; }));
}

// The writer's reference to a segment it leaves is dropped (and the segment
// unmapped) by the supply's thread, not by the writer; without the thread,
// by the caller.
TEST(SegmentSupply, RetiredSegmentsAreReleasedByTheBackgroundThread) {
  testing::temp_dir t;
  std::filesystem::create_directories(t.journal());
  for (const uint64_t ahead : {uint64_t{1} << 20, uint64_t{0}}) {
    segment_supply supply({t.journal(), 4 << 20, ahead, nullptr});
    std::shared_ptr<segment_file> seg;
    std::string error;
    ASSERT_EQ(supply.obtain(ahead ? 1 : 2, seg, error), io_status::ok) << error;
    supply.set_current(seg, format::kHeaderSize);  // starts the thread when ahead > 0

    std::atomic<bool> released{false};
    std::thread::id by;
    // The same segment under a deleter that records the releasing thread.
    segment_file* raw = seg.get();
    std::shared_ptr<segment_file> tracked(raw, [&, keep = seg](segment_file*) mutable {
      by = std::this_thread::get_id();
      keep.reset();
      released.store(true);
    });
    supply.set_current(nullptr, 0);
    seg.reset();
    supply.retire(std::move(tracked));
    ASSERT_TRUE(eventually([&] { return released.load(); })) << "ahead " << ahead;
    if (ahead > 0) {
      EXPECT_NE(by, std::this_thread::get_id());
    } else {
      EXPECT_EQ(by, std::this_thread::get_id());
    }
  }
}

}  // namespace
}  // namespace rill::store
