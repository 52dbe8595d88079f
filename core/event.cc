#include "core/event.h"

#include <cstring>

#include "core/limits.h"
#include "core/msgpack_decode.h"
#include "core/msgpack_pack.h"
#include "core/msgpack_cursor.h"

namespace rill {

namespace {

std::string_view as_view(const msgpack::object& o) { return {o.via.str.ptr, o.via.str.size}; }

errc bad(std::string* message, std::string_view what, std::string_view name = {}) {
  if (message != nullptr) {
    message->assign("event: ");
    message->append(what);
    message->append(name);
  }
  return errc::bad_request;
}

// Generic walk for peek_event: any field order, unknown fields skipped.
bool peek_generic(std::span<const char> body, event_head& out) {
  msgpack_cursor c(body);
  uint32_t n;
  if (!c.read_map_header(n)) return false;
  out = event_head{};
  unsigned seen = 0;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view name;
    if (!c.read_str(name)) {
      if (!c.skip() || !c.skip()) return false;
      continue;
    }
    bool ok = true;
    if (name == "seq") {
      ok = c.read_uint(out.seq), seen |= 1;
    } else if (name == "type") {
      ok = c.read_str(out.type), seen |= 2;
    } else if (name == "agg") {
      ok = c.read_str(out.agg), seen |= 4;
    } else if (name == "id") {
      ok = c.read_str(out.id), seen |= 8;
    } else if (name == "ver") {
      ok = c.read_uint(out.ver), seen |= 16;
    } else if (name == "key") {
      ok = c.read_nil() || c.read_str(out.key);
    } else {
      ok = c.skip();
    }
    if (!ok) return false;
  }
  return seen == 31;
}

// Reads the next key and checks it is `expected`.
inline bool expect_key(msgpack_cursor& c, std::string_view expected) {
  std::string_view k;
  return c.read_str(k) && k == expected;
}

}  // namespace

void encode_event(out_buffer& out, const event_view& e) {
  // Field names are written as pre-encoded fixstr bytes.
  packer pk(out);
  const bool key = !e.key.empty(), corr = !e.corr.empty();
  out.push_back(static_cast<char>(0x80 | (7 + key + corr)));  // fixmap
  out.append(std::string_view("\xa3" "seq", 4));
  pk.pack_uint64(e.seq);
  out.append(std::string_view("\xa2" "ts", 3));
  pk.pack_uint64(e.ts);
  out.append(std::string_view("\xa4" "type", 5));
  pack_str(pk, e.type);
  out.append(std::string_view("\xa3" "agg", 4));
  pack_str(pk, e.agg);
  out.append(std::string_view("\xa2" "id", 3));
  pack_str(pk, e.id);
  out.append(std::string_view("\xa3" "ver", 4));
  pk.pack_uint64(e.ver);
  out.append(std::string_view("\xa4" "data", 5));
  if (e.data != nullptr) {
    pack_object(out, *e.data);
  } else {
    out.push_back(static_cast<char>(0x80));  // {}
  }
  if (key) {
    out.append(std::string_view("\xa3" "key", 4));
    pack_str(pk, e.key);
  }
  if (corr) {
    out.append(std::string_view("\xa4" "corr", 5));
    pack_str(pk, e.corr);
  }
}

errc decode_event(std::span<const char> body, msgpack::zone& zone, event_view& out,
                  std::string* message) {
  out = event_view{};
  // An event holds a request's data one level down, and is bounded by its
  // own size: every container count is checked against the bytes left.
  limits lim;
  lim.max_depth = 256;
  lim.max_elements = body.size();
  std::string why;
  const msgpack::object* parsed = nullptr;
  if (decode_msgpack(body, zone, lim, parsed, why) != errc::ok) return bad(message, why);
  const msgpack::object& root = *parsed;
  if (root.type != msgpack::type::MAP) return bad(message, "not a map");
  unsigned seen = 0;
  const msgpack::object_kv* kv = root.via.map.ptr;
  const msgpack::object_kv* const end = kv + root.via.map.size;
  for (; kv != end; ++kv) {
    if (kv->key.type != msgpack::type::STR) continue;  // not one of ours
    const std::string_view name = as_view(kv->key);
    const msgpack::object& v = kv->val;
    unsigned bit = 0;
    bool ok = true;
    if (name == "seq") {
      bit = 1, ok = v.type == msgpack::type::POSITIVE_INTEGER, out.seq = ok ? v.via.u64 : 0;
    } else if (name == "ts") {
      bit = 2, ok = v.type == msgpack::type::POSITIVE_INTEGER, out.ts = ok ? v.via.u64 : 0;
    } else if (name == "ver") {
      bit = 4, ok = v.type == msgpack::type::POSITIVE_INTEGER, out.ver = ok ? v.via.u64 : 0;
    } else if (name == "type" || name == "agg" || name == "id" || name == "key" ||
               name == "corr") {
      const bool optional = name == "key" || name == "corr";
      if (optional && v.type == msgpack::type::NIL) continue;
      ok = v.type == msgpack::type::STR;
      std::string_view& dst = name == "type"  ? out.type
                              : name == "agg" ? out.agg
                              : name == "id"  ? out.id
                              : name == "key" ? out.key
                                              : out.corr;
      bit = name == "type" ? 8 : name == "agg" ? 16 : name == "id" ? 32 : name == "key" ? 128 : 256;
      if (ok) dst = as_view(v);
    } else if (name == "data") {
      bit = 64, ok = v.type == msgpack::type::MAP, out.data = ok ? &v : nullptr;
    } else {
      continue;  // a field added by a newer daemon
    }
    if (!ok) return bad(message, "wrong type for field ", name);
    if (seen & bit) return bad(message, "duplicate field ", name);
    seen |= bit;
  }
  static constexpr const char* required[] = {"seq", "ts", "ver", "type", "agg", "id", "data"};
  for (unsigned i = 0; i < 7; ++i) {
    if (!(seen & (1u << i))) return bad(message, "missing field ", required[i]);
  }
  return errc::ok;
}

bool peek_event(std::span<const char> body, event_head& out) {
  // Fast path: rill's own field order.
  msgpack_cursor c(body);
  uint32_t n;
  uint64_t ts;
  if (c.read_map_header(n) && n >= 7 && expect_key(c, "seq") && c.read_uint(out.seq) &&
      expect_key(c, "ts") && c.read_uint(ts) && expect_key(c, "type") && c.read_str(out.type) &&
      expect_key(c, "agg") && c.read_str(out.agg) && expect_key(c, "id") && c.read_str(out.id) &&
      expect_key(c, "ver") && c.read_uint(out.ver) && expect_key(c, "data") &&
      c.peek_kind() == msgpack_cursor::kind::map && c.skip()) {
    out.key = {};
    bool ok = true;
    for (uint32_t i = 7; i < n && ok; ++i) {
      std::string_view name;
      if (!c.read_str(name)) {
        ok = c.skip() && c.skip();  // a key that is not a string, and its value
      } else if (name == "key") {
        ok = c.read_nil() || c.read_str(out.key);
      } else {
        ok = c.skip();
      }
    }
    if (ok) return true;
  }
  return peek_generic(body, out);
}

namespace {

// Raw readers for peek_event_kind: p advances; false when the bytes at p are
// not what is wanted or run past end.
// key: a fixstr with its header byte (N - 1 bytes without the terminator).
template <size_t N>
inline bool raw_key(const uint8_t*& p, const uint8_t* end, const char (&key)[N]) {
  if (static_cast<size_t>(end - p) < N - 1 || std::memcmp(p, key, N - 1) != 0) return false;
  p += N - 1;
  return true;
}

// n = 1, 2, 4 or 8 big-endian bytes.
inline uint64_t load_be(const uint8_t* p, unsigned n) {
  switch (n) {
    case 1:
      return p[0];
    case 2: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return __builtin_bswap16(v);
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return __builtin_bswap32(v);
    }
    default: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return __builtin_bswap64(v);
    }
  }
}

inline bool raw_uint(const uint8_t*& p, const uint8_t* end, uint64_t& v) {
  if (p == end) return false;
  const uint8_t b = *p;
  if (b < 0x80) {
    v = b;
    ++p;
    return true;
  }
  if (b < 0xcc || b > 0xcf) return false;
  const unsigned n = 1u << (b - 0xcc);  // cc..cf: 1, 2, 4, 8 bytes
  if (static_cast<size_t>(end - p) < 1 + n) return false;
  v = load_be(p + 1, n);
  p += 1 + n;
  return true;
}

inline bool raw_str(const uint8_t*& p, const uint8_t* end, std::string_view& s) {
  if (p == end) return false;
  const uint8_t b = *p;
  size_t len = 0, head = 1;
  if ((b & 0xe0) == 0xa0) {
    len = b & 0x1f;
  } else if (b == 0xd9 && end - p >= 2) {
    len = p[1], head = 2;
  } else if (b == 0xda && end - p >= 3) {
    len = load_be(p + 1, 2), head = 3;
  } else if (b == 0xdb && end - p >= 5) {
    len = load_be(p + 1, 4), head = 5;
  } else {
    return false;
  }
  if (static_cast<size_t>(end - p) - head < len) return false;
  s = {reinterpret_cast<const char*>(p + head), len};
  p += head + len;
  return true;
}

}  // namespace

bool peek_event_kind(std::span<const char> body, event_kind_head& out) {
  // The hot filter of rebuilds and catch-up: raw byte checks, no cursor.
  const auto* p = reinterpret_cast<const uint8_t*>(body.data());
  const uint8_t* const end = p + body.size();
  if (p == end) return false;
  const uint8_t m = *p;
  const bool fixmap = (m & 0xf0) == 0x80 && (m & 0x0f) >= 4;
  if (fixmap) {
    ++p;
  } else if (m == 0xde && end - p >= 3 && load_be(p + 1, 2) >= 4) {
    p += 3;
  } else if (m == 0xdf && end - p >= 5 && load_be(p + 1, 4) >= 4) {
    p += 5;
  } else {
    return false;
  }
  return raw_key(p, end, "\xa3seq") && raw_uint(p, end, out.seq) && raw_key(p, end, "\xa2ts") &&
         raw_uint(p, end, out.ts) && raw_key(p, end, "\xa4type") && raw_str(p, end, out.type) &&
         raw_key(p, end, "\xa3" "agg") && raw_str(p, end, out.agg);
}

void append_topic(out_buffer& out, std::string_view agg, std::string_view type) {
  out.append(agg);
  out.push_back('/');
  out.append(type);
}

}  // namespace rill
