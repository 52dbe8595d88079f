#include "readmodels/models/msgpack_fields.h"

#include <cmath>
#include <cstdint>

namespace rill::readmodels {

const msgpack::object* map_find(const msgpack::object* map, std::string_view key) {
  if (map == nullptr || map->type != msgpack::type::MAP) return nullptr;
  const auto& m = map->via.map;
  for (uint32_t i = 0; i < m.size; ++i) {
    const msgpack::object& k = m.ptr[i].key;
    if (k.type == msgpack::type::STR && std::string_view(k.via.str.ptr, k.via.str.size) == key)
      return &m.ptr[i].val;
  }
  return nullptr;
}

bool as_str(const msgpack::object& o, std::string_view& out) {
  if (o.type != msgpack::type::STR) return false;
  out = std::string_view(o.via.str.ptr, o.via.str.size);
  return true;
}

bool as_number(const msgpack::object& o, double& out) {
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

bool get_str(const msgpack::object* map, std::string_view key, std::string_view& out) {
  const msgpack::object* v = map_find(map, key);
  return v != nullptr && as_str(*v, out);
}

bool get_number(const msgpack::object* map, std::string_view key, double& out) {
  const msgpack::object* v = map_find(map, key);
  return v != nullptr && as_number(*v, out);
}

void pack_number(packer& pk, double v) {
  constexpr double exact_limit = 9007199254740992.0;  // 2^53
  if (std::isfinite(v) && std::fabs(v) < exact_limit && std::trunc(v) == v) {
    if (v >= 0) {
      pk.pack_uint64(static_cast<uint64_t>(v));
    } else {
      pk.pack_int64(static_cast<int64_t>(v));
    }
    return;
  }
  pk.pack_double(v);
}

void pack_str(packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

}  // namespace rill::readmodels
