#include "core/msgpack_check.h"

#include <algorithm>
#include <cstdint>

#include "core/msgpack_cursor.h"
#include "core/utf8.h"

namespace rill {

namespace {

// Deepest nesting the check tracks whatever limits say (its stack lives on
// the C++ stack, 2 KiB).
constexpr size_t depth_cap = 256;

errc fail(std::string& message, const char* what, size_t offset) {
  message = what;
  message += " (at byte ";
  message += std::to_string(offset);
  message += ')';
  return errc::bad_request;
}

}  // namespace

errc check_msgpack(std::span<const char> bytes, const limits& lim, std::string& message) {
  if (bytes.empty()) return fail(message, "empty message, not MessagePack", 0);
  const size_t max_depth = std::min(lim.max_depth, depth_cap);
  uint64_t left[depth_cap];  // values still to read in each open container
  size_t depth = 0;
  uint64_t elements = 0;
  msgpack_cursor c(bytes);
  bool root_read = false;
  while (true) {
    while (depth > 0 && left[depth - 1] == 0) --depth;
    if (depth == 0 && root_read) break;
    const size_t at = c.offset();
    msgpack_cursor::kind k;
    uint64_t count;
    std::string_view payload;
    if (!c.read_header(k, count, payload)) {
      // 0xc1 is the one byte MessagePack never uses; anything else is cut short.
      const bool invalid = at < bytes.size() && bytes[at] == '\xc1';
      return fail(message, invalid ? "not valid MessagePack" : "truncated MessagePack", at);
    }
    if (++elements > lim.max_elements) return fail(message, "too many values", at);
    if (depth > 0) {
      --left[depth - 1];
    } else {
      root_read = true;
    }
    using kind = msgpack_cursor::kind;
    if (k == kind::str) {
      if (!valid_utf8(payload)) return fail(message, "invalid UTF-8 in a string", at);
    } else if (k == kind::array || k == kind::map) {
      if (depth + 1 > max_depth) return fail(message, "nested too deep", at);
      const uint64_t n = k == kind::map ? 2 * count : count;
      if (n > c.remaining()) return fail(message, "truncated MessagePack", at);
      if (n > 0) left[depth++] = n;
    }
  }
  if (!c.at_end()) return fail(message, "trailing bytes after the MessagePack value", c.offset());
  return errc::ok;
}

}  // namespace rill
