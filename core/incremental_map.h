#pragma once
// incremental_map: an absl::flat_hash_map that grows without stopping its
// owner. When a SwissTable fills up, absl allocates a table twice the size
// and moves every entry into it inside that one insert: with millions of
// aggregates that single insert takes hundreds of milliseconds (on this
// host: 104 ms at 1.8M entries, 431 ms at 7.3M, 717 ms at 14.7M), and every
// client of rill-core waits for it.
//
// Here, once the table holds at least `min_incremental` entries and is
// 25/32 full, it becomes the "old" table and a new one of twice the capacity
// takes the inserts. Each insert then owes the move of a few old entries
// (kStepPerInsert); the owner pays them with step() at the end of a batch,
// and an insert pays them itself once kMaxOwed are due. Moving many at
// once lets their cache misses overlap (each batch of 16 is prefetched
// first), as they do in absl's own rehash: 8M inserts take about as long
// as with absl (bench_codec BM_index_growth).
// Lookups read the new table, then the old one; an entry is in exactly one
// of them. The new table is sized so that the move always ends before it
// fills up itself (it has room for twice the old entries; each insert owes
// kStepPerInsert moves, and no more than kMaxOwed wait), so no insert ever
// rehashes a large table at once.
//
// What it does not cover: absl also rehashes in place when erased slots
// ("tombstones") use up the room for inserts. Maps that erase as much as
// they insert (a FIFO at its cap) can still pause for that; it rewrites no
// memory it does not already hold, and comes once per many erases.
//
// Small tables (under min_incremental entries) grow as absl does: copying
// them takes well under a millisecond.
//
// The old table's array is freed on a short-lived thread of its own:
// returning hundreds of MiB to the kernel takes tens of milliseconds (57 ms
// for the 256 MiB of an 8M-entry table on this host).
//
// Lookups take any key type the Hash and Eq accept (heterogeneous lookup).
// Pointers returned by find() stay valid until the next insert, erase or
// step(). Thread-safety: none; one owner thread.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <system_error>
#include <thread>
#include <utility>

#include <absl/container/flat_hash_map.h>

namespace rill {

template <class K, class V, class Hash, class Eq>
class incremental_map {
 public:
  using map_type = absl::flat_hash_map<K, V, Hash, Eq>;
  // Entries of the old table each insert owes while growing, and how many
  // may be owed before an insert moves them itself.
  static constexpr size_t kStepPerInsert = 16;
  static constexpr size_t kMaxOwed = 1024;

  explicit incremental_map(size_t min_incremental = size_t{1} << 14) : min_(min_incremental) {}
  incremental_map(const incremental_map&) = delete;
  incremental_map& operator=(const incremental_map&) = delete;
  // Moving finishes a growth in progress first (the cursor into the old
  // table would not survive the move).
  incremental_map(incremental_map&& o) : min_(o.min_), growths_(o.growths_) {
    o.finish_now();
    o.join_reaper();
    cur_ = std::move(o.cur_);
    map_type().swap(o.cur_);
  }
  incremental_map& operator=(incremental_map&& o) {
    if (this == &o) return *this;
    o.finish_now();
    o.join_reaper();
    join_reaper();
    map_type().swap(old_);
    next_ = old_.end();
    min_ = o.min_;
    growths_ = o.growths_;
    cur_ = std::move(o.cur_);
    map_type().swap(o.cur_);
    return *this;
  }
  ~incremental_map() { join_reaper(); }

  template <class L>
  V* find(const L& k) {
    if (auto it = cur_.find(k); it != cur_.end()) return &it->second;
    if (!old_.empty())
      if (auto it = old_.find(k); it != old_.end()) return &it->second;
    return nullptr;
  }
  template <class L>
  const V* find(const L& k) const {
    return const_cast<incremental_map*>(this)->find(k);
  }
  template <class L>
  bool contains(const L& k) const {
    return find(k) != nullptr;
  }
  // Starts loading the slots a lookup of k will read (both tables while
  // growing). Always inlined: GCC finds that a function made only of
  // prefetches has no side effects, and drops calls to it (-O3 removed
  // this one from validator::prefetch).
  template <class L>
  [[gnu::always_inline]] inline void prefetch(const L& k) const {
    cur_.prefetch(k);
    if (!old_.empty()) old_.prefetch(k);
  }

  // Inserts k -> v; k must be absent (the caller has just looked it up, so
  // it is not looked up again). May start a growth, or move kMaxOwed
  // entries of one in progress.
  void insert_absent(K k, V v) {
    if (!old_.empty()) {
      owed_ += kStepPerInsert;
      if (owed_ >= kMaxOwed) step(0);
    }
    if (cur_.size() >= min_ && full(cur_)) grow();
    cur_.emplace(std::move(k), std::move(v));
  }
  // Inserts k -> v unless k is present; true if it inserted.
  bool emplace(K k, V v) {
    if (contains(k)) return false;
    insert_absent(std::move(k), std::move(v));
    return true;
  }

  template <class L>
  bool erase(const L& k) {
    if (cur_.erase(k) != 0) return true;
    if (old_.empty()) return false;
    auto it = old_.find(k);
    if (it == old_.end()) return false;
    if (it == next_) ++next_;
    old_.erase(it);
    if (old_.empty()) finish();
    return true;
  }

  // Moves the entries the inserts since the last step owe, plus n more, of
  // a growth in progress into the new table.
  void step(size_t n) {
    if (old_.empty()) return;
    n += owed_;
    owed_ = 0;
    while (n > 0 && next_ != old_.end()) {
      typename map_type::iterator batch[kBatch];
      size_t k = 0;
      for (; k < kBatch && k < n && next_ != old_.end(); ++k) {
        batch[k] = next_++;
        cur_.prefetch(batch[k]->first);
      }
      for (size_t i = 0; i < k; ++i) {
        cur_.emplace(batch[i]->first, std::move(batch[i]->second));
        old_.erase(batch[i]);  // leaves the other iterators valid
      }
      n -= k;
    }
    if (next_ == old_.end()) finish();
  }

  size_t size() const { return cur_.size() + old_.size(); }
  bool growing() const { return !old_.empty(); }
  // Growths started so far, and the capacity of the table taking inserts
  // (for tests: that capacity changes only when a growth starts).
  uint64_t growths() const { return growths_; }
  size_t capacity() const { return cur_.capacity(); }

  // Room for n entries without growing (for a map about to be filled).
  void reserve(size_t n) {
    finish_now();
    cur_.reserve(n);
  }

  // Calls f(key, value) for every entry, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [k, v] : cur_) f(k, v);
    for (const auto& [k, v] : old_) f(k, v);
  }

 private:
  // absl (raw_hash_set::rehash_and_grow_if_necessary) doubles a table
  // when an insert finds no room and more than 25/32 of its slots are
  // used; with fewer it squashes tombstones in place. Growing here once the
  // table passes 25/32 leaves absl only the in-place path, with or without
  // tombstones (its own limit without them is 7/8).
  static bool full(const map_type& m) { return m.size() * 32 > m.capacity() * 25; }

  void grow() {
    finish_now();  // old_ is now a table of capacity 0
    const size_t n = cur_.size();
    old_.swap(cur_);
    cur_.reserve(n * 2);  // absl: capacity 2c + 1, as its own growth
    next_ = old_.begin();
    ++growths_;
  }
  static constexpr size_t kBatch = 16;
  void finish_now() { step(old_.size()); }
  void finish() {
    auto doomed = std::make_unique<map_type>();
    doomed->swap(old_);
    next_ = old_.end();
    owed_ = 0;
    join_reaper();  // the previous growth's, long done
    try {
      reaper_ = std::thread([d = std::move(doomed)]() mutable { d.reset(); });
    } catch (const std::system_error&) {
      // No thread to spare: the lambda, destroyed here, frees the table.
    }
  }
  void join_reaper() {
    if (reaper_.joinable()) reaper_.join();
  }

  map_type cur_;
  map_type old_;
  typename map_type::iterator next_ = old_.end();
  size_t min_;
  uint64_t growths_ = 0;
  size_t owed_ = 0;     // moves the inserts of this growth still owe
  std::thread reaper_;  // frees the last old table
};

}  // namespace rill
