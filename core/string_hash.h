#pragma once
// Transparent hash and equality for string-keyed absl hash maps, so lookups
// with a std::string_view allocate nothing. (Debian's Abseil has its own
// absl::string_view, which its default StringHash wants; std::string_view
// does not convert to it.)
//
// Keys of up to 16 bytes (most ids and keys) are hashed inline with a
// wyhash-style 64x64->128 multiply fold of two overlapping loads; longer
// ones with XXH3. Both mix every input bit into the high and low bits that
// absl's SwissTable uses. Not for hostile hash flooding across restarts:
// the seed is fixed.
// Thread-safety: stateless; thread-safe.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include <xxhash.h>

namespace rill {

struct string_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    const size_t n = s.size();
    if (n > 16) return static_cast<size_t>(XXH3_64bits(s.data(), n));
    const char* p = s.data();
    uint64_t a = 0, b = 0;
    if (n >= 8) {
      std::memcpy(&a, p, 8);
      std::memcpy(&b, p + n - 8, 8);
    } else if (n >= 4) {
      uint32_t x, y;
      std::memcpy(&x, p, 4);
      std::memcpy(&y, p + n - 4, 4);
      a = x;
      b = y;
    } else if (n > 0) {
      a = (uint64_t{static_cast<unsigned char>(p[0])} << 16) |
          (uint64_t{static_cast<unsigned char>(p[n / 2])} << 8) |
          static_cast<unsigned char>(p[n - 1]);
    }
    return static_cast<size_t>(mix(a ^ 0xa0761d6478bd642full, b ^ 0xe7037ed1a0b428dbull ^ n) ^
                               mix(a, 0x8ebc6af09c88c6e3ull ^ n));
  }

 private:
  static uint64_t mix(uint64_t a, uint64_t b) {
    const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
  }
};

struct string_eq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

// A string key that carries its hash, for maps that grow large: a lookup
// hashes the string once (hashed()) and reuses the hash to find and then to
// insert, and growing the map re-reads only the stored hashes, never the
// strings (a rehash of long, heap-held keys would otherwise miss the cache
// once per key and hash each again). S is std::string (the map owns the
// bytes) or std::string_view (they live elsewhere); lookups use
// hashed_key<std::string_view>. Costs 8 bytes per entry.
template <class S>
struct hashed_key {
  S s;
  size_t h = 0;
};
using hashed_view = hashed_key<std::string_view>;

inline hashed_view hashed(std::string_view s) {
  return {s, string_hash{}(s)};
}

struct hashed_key_hash {
  using is_transparent = void;
  template <class S>
  size_t operator()(const hashed_key<S>& k) const noexcept {
    return k.h;
  }
};

struct hashed_key_eq {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const hashed_key<A>& a, const hashed_key<B>& b) const noexcept {
    return a.h == b.h && std::string_view(a.s) == std::string_view(b.s);
  }
};

}  // namespace rill
