#pragma once
// Small readers and writers for the MessagePack values the models handle:
// event data fields (DOMAIN.md) and numbers in query results.
//
// Event data was validated by rill-core against the schema, but a model never
// trusts it: every reader checks the type and returns false when a field is
// absent or of the wrong kind, and the model then ignores the event.
// Thread-safety: pure functions; thread-safe. Never throw (packing may throw
// bad_alloc).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/msgpack.h"
#include "readmodels/read_model.h"

namespace rill::readmodels {

// The value of `key` in `map`; nullptr when map is null, not a map, or has no
// such string key. Inline: the models call it with constant keys, so the
// compiler turns the key comparison into a length check and a fixed-size
// compare (this runs several times per event during a rebuild).
inline const msgpack::object* map_find(const msgpack::object* map, std::string_view key) {
  if (map == nullptr || map->type != msgpack::type::MAP) return nullptr;
  const auto& m = map->via.map;
  for (uint32_t i = 0; i < m.size; ++i) {
    const msgpack::object& k = m.ptr[i].key;
    if (k.type == msgpack::type::STR && k.via.str.size == key.size() &&
        std::memcmp(k.via.str.ptr, key.data(), key.size()) == 0)
      return &m.ptr[i].val;
  }
  return nullptr;
}

// A str value as a view into the object's zone.
inline bool as_str(const msgpack::object& o, std::string_view& out) {
  if (o.type != msgpack::type::STR) return false;
  out = std::string_view(o.via.str.ptr, o.via.str.size);
  return true;
}

// Any integer or float that is finite, as a double.
inline bool as_number(const msgpack::object& o, double& out) {
  switch (o.type) {
    case msgpack::type::POSITIVE_INTEGER:
      out = static_cast<double>(o.via.u64);
      return true;
    case msgpack::type::NEGATIVE_INTEGER:
      out = static_cast<double>(o.via.i64);
      return true;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      out = o.via.f64;
      return std::isfinite(out);
    default:
      return false;
  }
}

// `key` of `map` as a str / a finite number.
inline bool get_str(const msgpack::object* map, std::string_view key, std::string_view& out) {
  const msgpack::object* v = map_find(map, key);
  return v != nullptr && as_str(*v, out);
}
inline bool get_number(const msgpack::object* map, std::string_view key, double& out) {
  const msgpack::object* v = map_find(map, key);
  return v != nullptr && as_number(*v, out);
}

// Packs v as an integer when it holds one exactly (|v| < 2^53), else as a
// float64, so 100 stays 100 in JSON and 12.5 stays 12.5.
void pack_number(packer& pk, double v);
void pack_str(packer& pk, std::string_view s);

}  // namespace rill::readmodels
