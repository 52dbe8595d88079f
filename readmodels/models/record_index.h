#pragma once
// record_index: a hash index over records kept in a std::vector, by their
// string id. A slot is 8 bytes: the record's position in the vector and the
// high 32 bits of its id's hash (core/string_hash.h's hashed()):
//
//   struct order { std::string_view id; ... };
//   std::vector<order> orders;
//   record_index<order> index = make_record_index(orders);
//   auto it = index.find(hashed(id));  ->  record_position(*it) in `orders`
//
// A map from the id (a 24-byte view with its hash, or a 32-byte
// std::string) to a position took 32-40 bytes a slot; this keeps an index
// of hundreds of thousands of ids at a few MB, so a rebuild's inserts and
// lookups mostly hit the cache (bench/RESULTS.md, session 14). Growing the
// index reads only its own slots. Equality compares the stored hash bits
// first and reads the record's id only when they match.
//
// Insert with record_index_insert(index, hashed(id), position), before or
// after appending the record (growing never reads a record).
//
// The equality functor points at the vector object, so the vector must not
// move while the index uses it (keep both in a state behind a unique_ptr).
// Thread-safety: that of absl::flat_hash_set.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_set.h>

#include "core/string_hash.h"

namespace rill::readmodels {

using record_slot = uint64_t;

inline record_slot make_record_slot(uint32_t position, size_t hash) {
  return (static_cast<uint64_t>(hash) & 0xffffffff00000000ull) | position;
}
inline uint32_t record_position(record_slot s) {
  return static_cast<uint32_t>(s);
}

struct record_hash {
  using is_transparent = void;
  // The 32 hash bits a slot keeps, spread over 64 (an odd multiplier is a
  // bijection) for the table's H1/H2 split.
  static size_t spread(uint64_t high) {
    return static_cast<size_t>((high >> 32) * 0x9e3779b97f4a7c15ull);
  }
  size_t operator()(record_slot s) const { return spread(s); }
  size_t operator()(const hashed_view& k) const { return spread(k.h); }
};

template <class Record>
struct record_eq {
  using is_transparent = void;
  const std::vector<Record>* records;
  bool operator()(record_slot a, record_slot b) const { return a == b; }
  bool operator()(record_slot a, const hashed_view& k) const {
    return (a >> 32) == (static_cast<uint64_t>(k.h) >> 32) &&
           (*records)[record_position(a)].id == k.s;
  }
  bool operator()(const hashed_view& k, record_slot a) const { return (*this)(a, k); }
};

template <class Record>
using record_index = absl::flat_hash_set<record_slot, record_hash, record_eq<Record>>;

template <class Record>
record_index<Record> make_record_index(const std::vector<Record>& records) {
  return record_index<Record>(0, record_hash{}, record_eq<Record>{&records});
}

// Finds `key`, or inserts `position` for it: {the position it has, whether
// it was inserted}.
template <class Record>
std::pair<uint32_t, bool> record_index_insert(record_index<Record>& index, const hashed_view& key,
                                              uint32_t position) {
  bool added = false;
  auto it = index.lazy_emplace(key, [&](const typename record_index<Record>::constructor& ctor) {
    added = true;
    ctor(make_record_slot(position, key.h));
  });
  return {record_position(*it), added};
}

}  // namespace rill::readmodels
