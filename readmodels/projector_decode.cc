#include "readmodels/projector_decode.h"

#include "core/msgpack_cursor.h"

namespace rill::readmodels {

namespace {

using kind = msgpack_cursor::kind;

// Containers nested deeper than this go to the checked slow path.
constexpr int kMaxDepth = 64;

inline bool key_is(msgpack_cursor& c, std::string_view expected) {
  std::string_view k;
  return c.read_str(k) && k == expected;
}

// Builds the value at the cursor as a msgpack::object in the zone. Strings,
// bin and ext reference the body. Every container count is checked against
// the bytes left (each element takes at least one byte), so a bogus header
// cannot make it allocate more than the body's size in objects.
bool build(msgpack_cursor& c, msgpack::zone& zone, msgpack::object& o, int depth) {
  switch (c.peek_kind()) {
    case kind::nil:
      c.read_nil();
      o.type = msgpack::type::NIL;
      return true;
    case kind::boolean: {
      bool b = false;
      if (!c.read_bool(b)) return false;
      o.type = msgpack::type::BOOLEAN;
      o.via.boolean = b;
      return true;
    }
    case kind::uint: {
      uint64_t v = 0;
      if (!c.read_uint(v)) return false;
      o.type = msgpack::type::POSITIVE_INTEGER;
      o.via.u64 = v;
      return true;
    }
    case kind::nint: {
      int64_t v = 0;
      if (!c.read_int(v)) return false;
      o.type = msgpack::type::NEGATIVE_INTEGER;
      o.via.i64 = v;
      return true;
    }
    case kind::float32:
    case kind::float64: {
      const bool f32 = c.peek_kind() == kind::float32;
      double v = 0;
      if (!c.read_number(v)) return false;
      o.type = f32 ? msgpack::type::FLOAT32 : msgpack::type::FLOAT64;
      o.via.f64 = v;
      return true;
    }
    case kind::str: {
      std::string_view s;
      if (!c.read_str(s)) return false;
      o.type = msgpack::type::STR;
      o.via.str.size = static_cast<uint32_t>(s.size());
      o.via.str.ptr = s.data();
      return true;
    }
    case kind::bin: {
      std::string_view s;
      if (!c.read_bin(s)) return false;
      o.type = msgpack::type::BIN;
      o.via.bin.size = static_cast<uint32_t>(s.size());
      o.via.bin.ptr = s.data();
      return true;
    }
    case kind::ext: {
      kind k;
      uint64_t count = 0;
      std::string_view payload;  // type byte, then the data
      if (!c.read_header(k, count, payload)) return false;
      o.type = msgpack::type::EXT;
      o.via.ext.size = static_cast<uint32_t>(count);
      o.via.ext.ptr = payload.data();
      return true;
    }
    case kind::array: {
      uint32_t n = 0;
      if (depth >= kMaxDepth || !c.read_array_header(n) || n > c.remaining()) return false;
      o.type = msgpack::type::ARRAY;
      o.via.array.size = n;
      o.via.array.ptr = nullptr;
      if (n == 0) return true;
      auto* items = static_cast<msgpack::object*>(
          zone.allocate_align(sizeof(msgpack::object) * n, alignof(msgpack::object)));
      o.via.array.ptr = items;
      for (uint32_t i = 0; i < n; ++i)
        if (!build(c, zone, items[i], depth + 1)) return false;
      return true;
    }
    case kind::map: {
      uint32_t n = 0;
      if (depth >= kMaxDepth || !c.read_map_header(n) || n > c.remaining() / 2) return false;
      o.type = msgpack::type::MAP;
      o.via.map.size = n;
      o.via.map.ptr = nullptr;
      if (n == 0) return true;
      auto* kvs = static_cast<msgpack::object_kv*>(
          zone.allocate_align(sizeof(msgpack::object_kv) * n, alignof(msgpack::object_kv)));
      o.via.map.ptr = kvs;
      for (uint32_t i = 0; i < n; ++i)
        if (!build(c, zone, kvs[i].key, depth + 1) || !build(c, zone, kvs[i].val, depth + 1))
          return false;
      return true;
    }
    default:
      return false;
  }
}

}  // namespace

bool decode_canonical_event(std::span<const char> body, msgpack::zone& zone, event_view& out) {
  msgpack_cursor c(body);
  uint32_t n = 0;
  if (!c.read_map_header(n) || n < 7 || n > 9) return false;
  out.key = {};
  out.corr = {};
  if (!(key_is(c, "seq") && c.read_uint(out.seq) && key_is(c, "ts") && c.read_uint(out.ts) &&
        key_is(c, "type") && c.read_str(out.type) && key_is(c, "agg") && c.read_str(out.agg) &&
        key_is(c, "id") && c.read_str(out.id) && key_is(c, "ver") && c.read_uint(out.ver) &&
        key_is(c, "data") && c.peek_kind() == kind::map))
    return false;
  msgpack::object* data = nullptr;
  try {
    data = static_cast<msgpack::object*>(
        zone.allocate_align(sizeof(msgpack::object), alignof(msgpack::object)));
    if (!build(c, zone, *data, 1)) return false;
  } catch (const std::bad_alloc&) {
    return false;
  }
  out.data = data;
  for (uint32_t i = 7; i < n; ++i) {
    std::string_view name;
    if (!c.read_str(name)) return false;
    std::string_view* dst = name == "key" ? &out.key : name == "corr" ? &out.corr : nullptr;
    if (dst == nullptr || !dst->empty()) return false;  // unknown or duplicate: slow path
    if (!c.read_nil() && !c.read_str(*dst)) return false;
  }
  return c.at_end();
}

}  // namespace rill::readmodels
