#include "core/string_pool.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rill {
namespace {

TEST(StringPool, ViewsStayValidAcrossChunksAndMoves) {
  string_pool pool;
  std::vector<std::string> want;
  std::vector<std::string_view> got;
  for (int i = 0; i < 20000; ++i) {  // several chunks
    want.push_back("id-" + std::to_string(i) + std::string(i % 37, 'x'));
    got.push_back(pool.add(want.back()));
  }
  const std::string big(string_pool::kChunk + 10, 'b');  // a chunk of its own
  const std::string_view big_view = pool.add(big);
  EXPECT_GT(pool.allocated(), 2 * string_pool::kChunk);
  string_pool moved(std::move(pool));
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << i;
  EXPECT_EQ(big_view, big);
  EXPECT_TRUE(moved.add("").empty());
}

TEST(StringPool, ReleaseToForgetsTheNewestAndFreesTheirChunks) {
  string_pool pool;
  const std::string_view kept = pool.add("kept");
  const size_t before = pool.allocated();
  const string_pool::position p = pool.mark();
  for (int i = 0; i < 5000; ++i) pool.add("staged-aggregate-id-" + std::to_string(i));
  EXPECT_GT(pool.allocated(), before);
  pool.release_to(p);
  EXPECT_EQ(pool.allocated(), before);
  EXPECT_EQ(kept, "kept");
  // The released bytes are handed out again.
  const std::string_view again = pool.add("again");
  EXPECT_EQ(again.data(), kept.data() + kept.size());
  // Repeated stage-and-undo cycles do not grow the pool.
  for (int round = 0; round < 100; ++round) {
    const string_pool::position q = pool.mark();
    for (int i = 0; i < 3000; ++i)
      pool.add("round-" + std::to_string(round) + "-" + std::to_string(i));
    pool.release_to(q);
  }
  EXPECT_EQ(pool.allocated(), before);
  EXPECT_EQ(again, "again");
}

TEST(ShortOrPooled, KeepsUpTo15BytesInlineAndLongerInThePool) {
  string_pool pool;
  const std::string s15(15, 'a'), s16(16, 'b');
  const short_or_pooled empty("", pool), a(s15, pool);
  EXPECT_EQ(pool.allocated(), 0u);  // nothing pooled yet
  const short_or_pooled b(s16, pool);
  EXPECT_GT(pool.allocated(), 0u);
  EXPECT_FALSE(empty.pooled());
  EXPECT_FALSE(a.pooled());
  EXPECT_TRUE(b.pooled());
  EXPECT_EQ(empty.view(), "");
  EXPECT_EQ(a.view(), s15);
  EXPECT_EQ(b.view(), s16);
  // Inline bytes travel with the value (e.g. when a hash map moves its slots).
  short_or_pooled copy = a;
  EXPECT_EQ(std::string_view(copy), s15);
  EXPECT_NE(copy.view().data(), a.view().data());
  const std::string odd("\0x\xff", 3);
  EXPECT_EQ(short_or_pooled(odd, pool).view(), odd);
  EXPECT_EQ(short_or_pooled().view(), "");
}

}  // namespace
}  // namespace rill
