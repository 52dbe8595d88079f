#pragma once
// Strict UTF-8 validation (RFC 3629): rejects overlong forms, surrogates
// (U+D800..U+DFFF), code points above U+10FFFF and truncated sequences.
// ASCII runs are checked 8 bytes at a time.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace rill {

namespace detail {
// The full validator, for strings that are not pure ASCII.
bool valid_utf8_multibyte(std::string_view s);
}  // namespace detail

// True when s is well-formed UTF-8. Pure ASCII (the common case for names,
// ids and keys) is decided inline, 8 bytes at a time. Thread-safe.
inline bool valid_utf8(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t acc = 0;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    acc |= w;
  }
  if (n >= 4) {  // the last 4..7 bytes as two overlapping words
    uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    acc |= a | b;
  } else {
    for (size_t i = 0; i < n; ++i) acc |= static_cast<unsigned char>(p[i]);
  }
  if ((acc & 0x8080808080808080ull) == 0) return true;
  return detail::valid_utf8_multibyte(s);
}

// Number of code points in s, which must be valid UTF-8. Thread-safe.
size_t utf8_length(std::string_view s);

// The longest prefix of s (valid UTF-8) of at most max_bytes bytes that does
// not split a code point. For quoting untrusted text in messages. Thread-safe.
std::string_view utf8_prefix(std::string_view s, size_t max_bytes);

}  // namespace rill
