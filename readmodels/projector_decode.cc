#include "readmodels/projector_decode.h"

#include <cstring>

#include "core/msgpack_raw.h"

namespace rill::readmodels {

namespace {

// Containers nested deeper than this go to the checked slow path.
constexpr int kMaxDepth = 64;

// The scalar readers are core's (core/msgpack_raw.h: also behind
// peek_event_kind); this adds the builders of the `data` tree. A failed read
// means "not canonical" and the caller falls back to decode_event().
struct reader : raw_reader {
  // Builds any value rill-core writes into `o` (strings reference the body).
  bool value(msgpack::zone& zone, msgpack::object& o, int depth) {
    if (p >= end) return false;
    const uint8_t b = *p;
    uint64_t v = 0;
    if (b <= 0x7f || (b >= 0xcc && b <= 0xcf)) {
      if (!uint(v)) return false;
      o.type = msgpack::type::POSITIVE_INTEGER;
      o.via.u64 = v;
      return true;
    }
    if (b >= 0xe0) {
      o.type = msgpack::type::NEGATIVE_INTEGER;
      o.via.i64 = static_cast<int8_t>(b);
      ++p;
      return true;
    }
    if ((b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb)) {
      std::string_view s;
      if (!str(s)) return false;
      o.type = msgpack::type::STR;
      o.via.str.size = static_cast<uint32_t>(s.size());
      o.via.str.ptr = s.data();
      return true;
    }
    if ((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf) return map(zone, o, depth);
    if ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd) return array(zone, o, depth);
    switch (b) {
      case 0xc0:
        o.type = msgpack::type::NIL;
        ++p;
        return true;
      case 0xc2:
      case 0xc3:
        o.type = msgpack::type::BOOLEAN;
        o.via.boolean = b == 0xc3;
        ++p;
        return true;
      case 0xca: {
        if (!field(4, v)) return false;
        const auto bits = static_cast<uint32_t>(v);
        float f;
        std::memcpy(&f, &bits, 4);
        o.type = msgpack::type::FLOAT32;
        o.via.f64 = f;
        return true;
      }
      case 0xcb: {
        if (!field(8, v)) return false;
        double d;
        std::memcpy(&d, &v, 8);
        o.type = msgpack::type::FLOAT64;
        o.via.f64 = d;
        return true;
      }
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3: {
        const int n = 1 << (b - 0xd0);
        if (!field(n, v)) return false;
        const int shift = 64 - 8 * n;
        const int64_t s = static_cast<int64_t>(v << shift) >> shift;  // sign-extend
        if (s >= 0) {
          o.type = msgpack::type::POSITIVE_INTEGER;
          o.via.u64 = static_cast<uint64_t>(s);
        } else {
          o.type = msgpack::type::NEGATIVE_INTEGER;
          o.via.i64 = s;
        }
        return true;
      }
      default:
        return false;  // bin, ext, reserved: the slow path handles them
    }
  }

  bool map(msgpack::zone& zone, msgpack::object& o, int depth) {
    uint64_t n = 0;
    if (depth >= kMaxDepth || !count(*p, 0x80, 0xde, n) || n > left() / 2) return false;
    o.type = msgpack::type::MAP;
    o.via.map.size = static_cast<uint32_t>(n);
    o.via.map.ptr = nullptr;
    if (n == 0) return true;
    auto* kvs = static_cast<msgpack::object_kv*>(
        zone.allocate_align(sizeof(msgpack::object_kv) * n, alignof(msgpack::object_kv)));
    o.via.map.ptr = kvs;
    for (uint64_t i = 0; i < n; ++i)
      if (!value(zone, kvs[i].key, depth + 1) || !value(zone, kvs[i].val, depth + 1)) return false;
    return true;
  }

  bool array(msgpack::zone& zone, msgpack::object& o, int depth) {
    uint64_t n = 0;
    if (depth >= kMaxDepth || !count(*p, 0x90, 0xdc, n) || n > left()) return false;
    o.type = msgpack::type::ARRAY;
    o.via.array.size = static_cast<uint32_t>(n);
    o.via.array.ptr = nullptr;
    if (n == 0) return true;
    auto* items = static_cast<msgpack::object*>(
        zone.allocate_align(sizeof(msgpack::object) * n, alignof(msgpack::object)));
    o.via.array.ptr = items;
    for (uint64_t i = 0; i < n; ++i)
      if (!value(zone, items[i], depth + 1)) return false;
    return true;
  }
};

}  // namespace

bool decode_canonical_event(std::span<const char> body, msgpack::zone& zone, event_view& out) {
  reader r{raw_reader::of(body.data(), body.size())};
  if (r.left() < 1 || *r.p < 0x87 || *r.p > 0x89) return false;  // a fixmap of 7..9 fields
  const unsigned n = *r.p++ & 0x0f;
  out.key = {};
  out.corr = {};
  if (!(r.literal("\xa3seq") && r.uint(out.seq) && r.literal("\xa2ts") && r.uint(out.ts) &&
        r.literal("\xa4type") && r.str(out.type) &&
        r.literal("\xa3"
                  "agg") &&
        r.str(out.agg) && r.literal("\xa2id") && r.str(out.id) && r.literal("\xa3ver") &&
        r.uint(out.ver) &&
        r.literal("\xa4"
                  "data") &&
        r.left() > 0 && ((*r.p & 0xf0) == 0x80 || *r.p == 0xde || *r.p == 0xdf)))
    return false;
  try {
    auto* data = static_cast<msgpack::object*>(
        zone.allocate_align(sizeof(msgpack::object), alignof(msgpack::object)));
    if (!r.map(zone, *data, 1)) return false;
    out.data = data;
  } catch (const std::bad_alloc&) {
    return false;
  }
  for (unsigned i = 7; i < n; ++i) {
    std::string_view name;
    if (!r.str(name)) return false;
    std::string_view* dst = name == "key" ? &out.key : name == "corr" ? &out.corr : nullptr;
    if (dst == nullptr || !dst->empty()) return false;  // unknown or repeated: slow path
    if (r.left() > 0 && *r.p == 0xc0) {
      ++r.p;  // nil = absent
    } else if (!r.str(*dst)) {
      return false;
    }
  }
  return r.p == r.end;
}

}  // namespace rill::readmodels
