#include "transport/json_msgpack.h"

#include <msgpack.hpp>

namespace rill::transport {

namespace {

nlohmann::json convert(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      return nullptr;
    case msgpack::type::BOOLEAN:
      return o.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
      return o.via.u64;
    case msgpack::type::NEGATIVE_INTEGER:
      return o.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return o.via.f64;
    case msgpack::type::STR:
      return std::string(o.via.str.ptr, o.via.str.size);
    case msgpack::type::BIN: {
      const auto* p = reinterpret_cast<const uint8_t*>(o.via.bin.ptr);
      return nlohmann::json::binary(std::vector<uint8_t>(p, p + o.via.bin.size));
    }
    case msgpack::type::EXT: {
      const auto* p = reinterpret_cast<const uint8_t*>(o.via.ext.data());
      return nlohmann::json::binary(std::vector<uint8_t>(p, p + o.via.ext.size),
                                    static_cast<std::uint8_t>(o.via.ext.type()));
    }
    case msgpack::type::ARRAY: {
      auto a = nlohmann::json::array();
      for (uint32_t i = 0; i < o.via.array.size; ++i) a.push_back(convert(o.via.array.ptr[i]));
      return a;
    }
    case msgpack::type::MAP: {
      auto m = nlohmann::json::object();
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        const std::string key = kv.key.type == msgpack::type::STR
                                    ? std::string(kv.key.via.str.ptr, kv.key.via.str.size)
                                    : convert(kv.key).dump();
        m[key] = convert(kv.val);
      }
      return m;
    }
  }
  return nullptr;
}

}  // namespace

nlohmann::json msgpack_to_json(std::span<const char> bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  auto j = nlohmann::json::from_msgpack(p, p + bytes.size(), true, false);
  if (!j.is_discarded()) return j;
  try {
    // Bounded like every decoder of untrusted bytes in rill.
    msgpack::unpack_limit limit(1 << 20, 1 << 20, 1 << 20, 64 << 20, 1 << 20, 64);
    auto handle = msgpack::unpack(bytes.data(), bytes.size(), nullptr, nullptr, limit);
    return convert(handle.get());
  } catch (const std::exception&) {
    return nlohmann::json::value_t::discarded;
  }
}

}  // namespace rill::transport
