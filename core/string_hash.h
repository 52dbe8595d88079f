#pragma once
// Transparent hash and equality for string-keyed absl hash maps, so lookups
// with a std::string_view allocate nothing. (Debian's Abseil has its own
// absl::string_view, which its default StringHash wants; std::string_view
// does not convert to it.) XXH3 hashes short keys in a few nanoseconds.
// Thread-safety: stateless; thread-safe.
#include <cstddef>
#include <string_view>

#include <xxhash.h>

namespace rill {

struct string_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return static_cast<size_t>(XXH3_64bits(s.data(), s.size()));
  }
};

struct string_eq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

}  // namespace rill
