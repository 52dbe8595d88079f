#include "core/utf8.h"

#include <cstdint>
#include <cstring>

namespace rill {

namespace {
constexpr uint64_t high_bits = 0x8080808080808080ull;
inline bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }
}  // namespace

namespace detail {

bool valid_utf8_multibyte(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    if (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & high_bits) == 0) {
        p += 8;
        continue;
      }
    }
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
    } else if (c < 0xC2) {  // a stray continuation byte, or an overlong 2-byte form
      return false;
    } else if (c < 0xE0) {
      if (end - p < 2 || !is_cont(p[1])) return false;
      p += 2;
    } else if (c < 0xF0) {
      if (end - p < 3 || !is_cont(p[1]) || !is_cont(p[2])) return false;
      if (c == 0xE0 && p[1] < 0xA0) return false;   // overlong
      if (c == 0xED && p[1] >= 0xA0) return false;  // surrogate
      p += 3;
    } else if (c < 0xF5) {
      if (end - p < 4 || !is_cont(p[1]) || !is_cont(p[2]) || !is_cont(p[3])) return false;
      if (c == 0xF0 && p[1] < 0x90) return false;   // overlong
      if (c == 0xF4 && p[1] >= 0x90) return false;  // above U+10FFFF
      p += 4;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace detail

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += !is_cont(c);
  return n;
}

std::string_view utf8_prefix(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t n = max_bytes;
  while (n > 0 && is_cont(static_cast<unsigned char>(s[n]))) --n;
  return s.substr(0, n);
}

}  // namespace rill
