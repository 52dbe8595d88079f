// incremental_map: same answers as a plain map through any mix of inserts,
// erases and steps across many growths, and no insert ever lets absl
// rehash a large table by itself.
#include "core/incremental_map.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "core/string_hash.h"

namespace rill {
namespace {

using str_map = incremental_map<hashed_view, uint64_t, hashed_key_hash, hashed_key_eq>;

// Keys live in a deque-like store so the views in the map stay valid.
struct key_store {
  std::vector<std::unique_ptr<std::string>> keys;
  hashed_view add(std::string s) {
    keys.push_back(std::make_unique<std::string>(std::move(s)));
    return hashed(*keys.back());
  }
};

void expect_same(const str_map& m, const std::unordered_map<std::string, uint64_t>& ref) {
  ASSERT_EQ(m.size(), ref.size());
  size_t seen = 0;
  m.for_each([&](const hashed_view& k, uint64_t v) {
    auto it = ref.find(std::string(k.s));
    ASSERT_NE(it, ref.end()) << k.s;
    EXPECT_EQ(it->second, v) << k.s;
    ++seen;
  });
  EXPECT_EQ(seen, ref.size());
  for (const auto& [k, v] : ref) {
    const uint64_t* p = m.find(hashed(k));
    ASSERT_NE(p, nullptr) << k;
    EXPECT_EQ(*p, v) << k;
  }
}

TEST(IncrementalMap, RandomOperationsMatchAPlainMapAcrossManyGrowths) {
  std::mt19937_64 rng(7);
  key_store store;
  str_map m(32);
  std::unordered_map<std::string, uint64_t> ref;
  std::vector<std::string> live;
  uint64_t erased_while_growing = 0;
  for (int i = 0; i < 120'000; ++i) {
    const unsigned op = rng() % 100;
    if (op < 60 || live.empty()) {  // insert (sometimes a key that exists)
      std::string k = (op % 7 == 0 && !live.empty()) ? live[rng() % live.size()]
                                                     : "k" + std::to_string(rng() % 200'000);
      const uint64_t v = rng();
      const bool fresh = !ref.contains(k);
      const hashed_view hk = fresh ? store.add(k) : hashed(k);
      ASSERT_EQ(m.emplace(hk, v), fresh) << k;
      if (fresh) {
        ref.emplace(k, v);
        live.push_back(k);
      }
    } else if (op < 80) {  // erase a live key, or a missing one
      const bool miss = op % 5 == 0;
      const size_t at = rng() % live.size();
      const std::string k = miss ? "missing" + std::to_string(i) : live[at];
      if (m.growing()) ++erased_while_growing;
      ASSERT_EQ(m.erase(hashed(k)), !miss) << k;
      if (!miss) {
        ref.erase(k);
        live[at] = live.back();
        live.pop_back();
      }
    } else if (op < 95) {  // update through find
      const std::string& k = live[rng() % live.size()];
      uint64_t* p = m.find(hashed(k));
      ASSERT_NE(p, nullptr) << k;
      ASSERT_EQ(*p, ref[k]);
      *p = ref[k] = rng();
    } else {
      m.step(rng() % 40);
    }
    if (i % 20'000 == 0) expect_same(m, ref);
  }
  expect_same(m, ref);
  EXPECT_GT(m.growths(), 3u);
  EXPECT_GT(erased_while_growing, 100u);
}

// Erasing every third entry fills tables with tombstones, absl's other
// reason to grow a table.
TEST(IncrementalMap, EveryLargeTableGrowsInStepsNeverAllAtOnce) {
  key_store store;
  str_map m(1024);
  size_t cap = m.capacity();
  uint64_t growths = m.growths();
  for (int i = 0; i < 450'000; ++i) {
    ASSERT_TRUE(m.emplace(store.add("id-" + std::to_string(i)), static_cast<uint64_t>(i)));
    if (i % 3 == 2) {
      ASSERT_TRUE(m.erase(hashed("id-" + std::to_string(i - 1))));
    }
    if (m.capacity() != cap) {
      // Past the threshold the only capacity change is a growth this map
      // started (absl growing the table itself would rehash it at once).
      if (cap >= 1024) {
        ASSERT_EQ(m.growths(), growths + 1) << "absl rehashed " << cap << " slots at entry " << i;
        ASSERT_TRUE(m.growing()) << i;
      }
      cap = m.capacity();
      growths = m.growths();
    }
  }
  EXPECT_GE(m.growths(), 8u);  // 1,024 -> 300k entries: 1k, 2k, ..., 262k
  EXPECT_EQ(m.size(), 300'000u);
  for (int i = 0; i < 450'000; i += 7) {
    const std::string k = "id-" + std::to_string(i);
    const uint64_t* p = m.find(hashed(k));
    if (i % 3 == 1) {
      EXPECT_EQ(p, nullptr) << k;
      continue;
    }
    ASSERT_NE(p, nullptr) << k;
    EXPECT_EQ(*p, static_cast<uint64_t>(i));
  }
}

TEST(IncrementalMap, StepsFinishAGrowthWithoutInsertsAndMovingKeepsEverything) {
  key_store store;
  str_map m(64);
  int n = 0;
  while (!m.growing()) {
    ASSERT_TRUE(m.emplace(store.add("x" + std::to_string(n)), static_cast<uint64_t>(n)));
    ++n;
  }
  const size_t at_start = m.size();
  str_map moved(std::move(m));  // finishes the growth in progress
  EXPECT_FALSE(moved.growing());
  EXPECT_EQ(moved.size(), at_start);
  EXPECT_EQ(m.size(), 0u);

  // Grow again, then finish by steps alone.
  while (!moved.growing()) {
    ASSERT_TRUE(moved.emplace(store.add("x" + std::to_string(n)), static_cast<uint64_t>(n)));
    ++n;
  }
  int steps = 0;
  while (moved.growing()) {
    moved.step(3);
    ++steps;
  }
  EXPECT_GT(steps, 1);
  EXPECT_EQ(moved.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const uint64_t* p = moved.find(hashed("x" + std::to_string(i)));
    ASSERT_NE(p, nullptr) << i;
    EXPECT_EQ(*p, static_cast<uint64_t>(i));
  }
}

// Erasing every entry while a growth is under way, with steps in between,
// erases the entry the growth's cursor stands on at some point.
TEST(IncrementalMap, ErasingDuringAGrowthNeverBringsAnEntryBack) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    key_store store;
    str_map m(64);
    std::vector<std::string> keys;
    while (!m.growing()) {
      keys.push_back("e" + std::to_string(keys.size()));
      ASSERT_TRUE(m.emplace(store.add(keys.back()), keys.size()));
    }
    std::shuffle(keys.begin(), keys.end(), rng);
    size_t left = keys.size();
    for (const std::string& k : keys) {
      ASSERT_TRUE(m.erase(hashed(k))) << k;
      --left;
      ASSERT_EQ(m.find(hashed(k)), nullptr) << k;
      if (rng() % 4 == 0) m.step(1);
      ASSERT_EQ(m.size(), left) << "seed " << seed << " after erasing " << k;
    }
    size_t seen = 0;
    m.for_each([&](const hashed_view&, uint64_t) { ++seen; });
    EXPECT_EQ(seen, 0u) << "seed " << seed;
  }
}

}  // namespace
}  // namespace rill
