#pragma once
// Strict UTF-8 validation (RFC 3629): rejects overlong forms, surrogates
// (U+D800..U+DFFF), code points above U+10FFFF and truncated sequences.
// ASCII runs are checked 8 bytes at a time.
#include <cstddef>
#include <string_view>

namespace rill {

// True when s is well-formed UTF-8. Thread-safe.
bool valid_utf8(std::string_view s);

// Number of code points in s, which must be valid UTF-8. Thread-safe.
size_t utf8_length(std::string_view s);

// The longest prefix of s (valid UTF-8) of at most max_bytes bytes that does
// not split a code point. For quoting untrusted text in messages. Thread-safe.
std::string_view utf8_prefix(std::string_view s, size_t max_bytes);

}  // namespace rill
