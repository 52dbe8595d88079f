#pragma once
// record_index: a hash index over records kept in a std::vector, holding
// only their positions (a uint32 a slot). Hash and equality read the record,
// which carries its id and that id's hash (core/string_hash.h's hashed()):
//
//   struct order { std::string_view id; size_t hash; ... };
//   std::vector<order> orders;
//   record_index<order> index = make_record_index(orders);
//   index.find(hashed(id))  ->  iterator to a position in `orders`
//
// A slot is 4 bytes instead of the 24-40 of a key with its hash and a
// value, so an index of hundreds of thousands of ids stays a few MB and a
// rebuild's inserts and lookups mostly hit the cache (bench/RESULTS.md,
// session 14). Growing the index re-reads the stored hashes, never the ids.
//
// Insert with lazy_emplace(hashed_view, ctor(position)) before or after
// appending the record: growing hashes only the positions already in the
// index, whose records exist. Never insert or find by position: two
// positions are equal only if they are the same record.
//
// The functors point at the vector object, so the vector must not move
// while the index uses it (keep both in a state behind a unique_ptr).
// Thread-safety: that of absl::flat_hash_set.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_set.h>

#include "core/string_hash.h"

namespace rill::readmodels {

template <class Record>
struct record_hash {
  using is_transparent = void;
  const std::vector<Record>* records;
  size_t operator()(uint32_t i) const { return (*records)[i].hash; }
  size_t operator()(const hashed_view& k) const { return k.h; }
};

template <class Record>
struct record_eq {
  using is_transparent = void;
  const std::vector<Record>* records;
  bool operator()(uint32_t a, uint32_t b) const { return a == b; }
  bool operator()(uint32_t a, const hashed_view& k) const { return (*records)[a].id == k.s; }
  bool operator()(const hashed_view& k, uint32_t a) const { return (*records)[a].id == k.s; }
};

template <class Record>
using record_index = absl::flat_hash_set<uint32_t, record_hash<Record>, record_eq<Record>>;

template <class Record>
record_index<Record> make_record_index(const std::vector<Record>& records) {
  return record_index<Record>(0, record_hash<Record>{&records}, record_eq<Record>{&records});
}

// Finds `key`, or inserts `position` for it: {the position it has, whether
// it was inserted}.
template <class Record>
std::pair<uint32_t, bool> record_index_insert(record_index<Record>& index, const hashed_view& key,
                                              uint32_t position) {
  bool added = false;
  auto it = index.lazy_emplace(key, [&](const typename record_index<Record>::constructor& ctor) {
    added = true;
    ctor(position);
  });
  return {*it, added};
}

}  // namespace rill::readmodels
