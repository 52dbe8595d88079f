#include "core/event.h"

#include "core/limits.h"
#include "core/msgpack_cursor.h"
#include "core/msgpack_decode.h"
#include "core/msgpack_pack.h"
#include "core/msgpack_raw.h"

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
  if (!e.data_raw.empty()) {
    out.write(e.data_raw.data(), e.data_raw.size());
  } else if (e.data != nullptr) {
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

bool peek_event_kind(std::span<const char> body, event_kind_head& out) {
  raw_reader r = raw_reader::of(body.data(), body.size());
  if (r.left() < 1 || *r.p < 0x84 || *r.p > 0x8f) return false;  // a fixmap of 4..15 fields
  ++r.p;
  return r.literal("\xa3seq") && r.uint(out.seq) && r.literal("\xa2ts") && r.uint(out.ts) &&
         r.literal("\xa4type") && r.str(out.type) &&
         r.literal(
             "\xa3"
             "agg") &&
         r.str(out.agg);
}

void append_topic(out_buffer& out, std::string_view agg, std::string_view type) {
  out.append(agg);
  out.push_back('/');
  out.append(type);
}

}  // namespace rill
