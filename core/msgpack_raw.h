#pragma once
// raw_reader: a bounds-checked, inline MessagePack reader for the few scalar
// forms rill writes (uint, str, fixed literals, container counts), for hot
// paths that read known layouts without building objects: peek_event_kind
// (core/event.h) and the projector's canonical event decoder
// (readmodels/projector_decode.cc), which adds the container builders.
//
// Every read checks the bytes left first and returns false without moving
// when they are too few or the type byte is not the expected form; a false
// means "not in the expected layout" and callers fall back to a full decoder.
// Borrows the bytes; strings are views into them. Never throws.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace rill {

struct raw_reader {
  const uint8_t* p;
  const uint8_t* end;

  static raw_reader of(const char* data, size_t size) {
    const auto* b = reinterpret_cast<const uint8_t*>(data);
    return {b, b + size};
  }

  size_t left() const { return static_cast<size_t>(end - p); }

  // Compared as one integer: with N known, the two memcpy become a load or
  // two and a constant (std::memcmp of 3 or 5 bytes was an out-of-line call).
  template <size_t N>
  bool literal(const char (&bytes)[N]) {  // N includes the terminating NUL
    constexpr size_t n = N - 1;
    static_assert(n >= 1 && n <= 8);
    if (left() < n) return false;
    uint64_t have = 0, want = 0;
    std::memcpy(&have, p, n);
    std::memcpy(&want, bytes, n);
    if (have != want) return false;
    p += n;
    return true;
  }

  static uint64_t be(const uint8_t* q, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | q[i];
    return v;
  }

  // A fixed-width field of n bytes after the type byte.
  bool field(int n, uint64_t& v) {
    if (left() < static_cast<size_t>(1 + n)) return false;
    v = be(p + 1, n);
    p += 1 + n;
    return true;
  }

  bool uint(uint64_t& v) {
    if (p >= end) return false;
    const uint8_t b = *p;
    if (b <= 0x7f) {
      v = b;
      ++p;
      return true;
    }
    switch (b) {
      case 0xcc:
        return field(1, v);
      case 0xcd:
        return field(2, v);
      case 0xce:
        return field(4, v);
      case 0xcf:
        return field(8, v);
      default:
        return false;
    }
  }

  bool str(std::string_view& s) {
    if (p >= end) return false;
    const uint8_t b = *p;
    uint64_t n = 0;
    size_t hdr = 1;
    if ((b & 0xe0) == 0xa0) {
      n = b & 0x1f;
    } else if (b == 0xd9 && left() >= 2) {
      n = p[1], hdr = 2;
    } else if (b == 0xda && left() >= 3) {
      n = be(p + 1, 2), hdr = 3;
    } else if (b == 0xdb && left() >= 5) {
      n = be(p + 1, 4), hdr = 5;
    } else {
      return false;
    }
    if (left() - hdr < n) return false;
    s = {reinterpret_cast<const char*>(p + hdr), static_cast<size_t>(n)};
    p += hdr + n;
    return true;
  }

  // A map or array header at p (fix form with `fix_mask` in the high nibble,
  // else the 16-bit form `c16`, else the 32-bit one): its element count.
  // The caller has checked that p is one of the three forms.
  bool count(uint8_t b, uint8_t fix_mask, uint8_t c16, uint64_t& n) {
    if ((b & 0xf0) == fix_mask) {
      n = b & 0x0f;
      ++p;
      return true;
    }
    return b == c16 ? field(2, n) : field(4, n);
  }
};

}  // namespace rill
