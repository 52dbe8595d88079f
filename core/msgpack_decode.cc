#include "core/msgpack_decode.h"

#include <algorithm>
#include <bit>
#include <cstdint>

#include "core/msgpack_cursor.h"
#include "core/utf8.h"

namespace rill {

namespace {

constexpr size_t depth_cap = 256;  // as check_msgpack

errc fail(std::string& message, const char* what, size_t offset) {
  message = what;
  message += " (at byte ";
  message += std::to_string(offset);
  message += ')';
  return errc::bad_request;
}

// An open container being filled.
struct frame {
  msgpack::object* items;  // array elements, or the map's pairs seen as key, val, key, ...
  uint64_t left;           // slots still to fill
};

}  // namespace

errc decode_msgpack(std::span<const char> bytes, msgpack::zone& zone, const limits& lim,
                    const msgpack::object*& out, std::string& message) {
  static_assert(sizeof(msgpack::object_kv) == 2 * sizeof(msgpack::object),
                "a map's pairs are filled as consecutive objects");
  out = nullptr;
  if (bytes.empty()) return fail(message, "empty message, not MessagePack", 0);
  const size_t max_depth = std::min(lim.max_depth, depth_cap);
  frame stack[depth_cap];
  size_t depth = 0;
  uint64_t elements = 0;
  auto* root = static_cast<msgpack::object*>(
      zone.allocate_align(sizeof(msgpack::object), alignof(msgpack::object)));
  const char* const begin = bytes.data();
  const char* const end = begin + bytes.size();
  const char* p = begin;
  msgpack::object* slot = root;
  using kind = msgpack_cursor::kind;
  while (true) {
    const size_t at = static_cast<size_t>(p - begin);
    if (p == end) return fail(message, "truncated MessagePack", at);
    if (++elements > lim.max_elements) return fail(message, "too many values", at);
    // The forms that make up most requests are decoded inline; the cursor
    // handles every other one.
    const uint8_t b = static_cast<uint8_t>(*p);
    kind k;
    uint64_t count;
    std::string_view payload;
    if (b <= 0x7f) {
      k = kind::uint;
      count = b;
      ++p;
    } else if ((b & 0xe0) == 0xa0) {
      count = b & 0x1f;
      if (static_cast<size_t>(end - p) - 1 < count) return fail(message, "truncated MessagePack", at);
      k = kind::str;
      payload = {p + 1, static_cast<size_t>(count)};
      p += 1 + count;
    } else if ((b & 0xf0) == 0x80) {
      k = kind::map;
      count = b & 0x0f;
      ++p;
    } else {
      msgpack_cursor c({p, static_cast<size_t>(end - p)});
      if (!c.read_header(k, count, payload)) {
        // 0xc1 is the one byte MessagePack never uses; anything else is cut short.
        return fail(message, b == 0xc1 ? "not valid MessagePack" : "truncated MessagePack", at);
      }
      p += c.offset();
    }
    msgpack::object& o = *slot;
    switch (k) {
      case kind::nil:
        o.type = msgpack::type::NIL;
        break;
      case kind::boolean:
        o.type = msgpack::type::BOOLEAN;
        o.via.boolean = count != 0;
        break;
      case kind::uint:
        o.type = msgpack::type::POSITIVE_INTEGER;
        o.via.u64 = count;
        break;
      case kind::nint:
        o.type = msgpack::type::NEGATIVE_INTEGER;
        o.via.i64 = static_cast<int64_t>(count);
        break;
      case kind::float32:
        o.type = msgpack::type::FLOAT32;
        o.via.f64 = std::bit_cast<float>(static_cast<uint32_t>(count));
        break;
      case kind::float64:
        o.type = msgpack::type::FLOAT64;
        o.via.f64 = std::bit_cast<double>(count);
        break;
      case kind::str:
        if (!valid_utf8(payload)) return fail(message, "invalid UTF-8 in a string", at);
        o.type = msgpack::type::STR;
        o.via.str.size = static_cast<uint32_t>(payload.size());
        o.via.str.ptr = payload.data();
        break;
      case kind::bin:
        o.type = msgpack::type::BIN;
        o.via.bin.size = static_cast<uint32_t>(payload.size());
        o.via.bin.ptr = payload.data();
        break;
      case kind::ext:  // payload: the type byte, then the data
        o.type = msgpack::type::EXT;
        o.via.ext.size = static_cast<uint32_t>(payload.size() - 1);
        o.via.ext.ptr = payload.data();
        break;
      case kind::array:
      case kind::map: {
        if (depth + 1 > max_depth) return fail(message, "nested too deep", at);
        const uint64_t slots = k == kind::map ? 2 * count : count;
        if (slots > static_cast<size_t>(end - p)) return fail(message, "truncated MessagePack", at);
        msgpack::object* items = nullptr;
        if (slots > 0) {
          items = static_cast<msgpack::object*>(
              zone.allocate_align(slots * sizeof(msgpack::object), alignof(msgpack::object)));
        }
        if (k == kind::map) {
          o.type = msgpack::type::MAP;
          o.via.map.size = static_cast<uint32_t>(count);
          o.via.map.ptr = reinterpret_cast<msgpack::object_kv*>(items);
        } else {
          o.type = msgpack::type::ARRAY;
          o.via.array.size = static_cast<uint32_t>(count);
          o.via.array.ptr = items;
        }
        if (slots > 0) stack[depth++] = frame{items, slots};
        break;
      }
      default:
        return fail(message, "not valid MessagePack", at);
    }
    // Next slot: the first open container with room, closing finished ones.
    while (depth > 0 && stack[depth - 1].left == 0) --depth;
    if (depth == 0) break;
    frame& f = stack[depth - 1];
    slot = f.items++;
    --f.left;
  }
  if (p != end) {
    return fail(message, "trailing bytes after the MessagePack value", static_cast<size_t>(p - begin));
  }
  out = root;
  return errc::ok;
}

}  // namespace rill
