#pragma once
// Test helpers: MessagePack built from JSON literals (nlohmann), and back.
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/buffer.h"

namespace rill::test {

using json = nlohmann::json;

inline std::string mp(const json& j) {
  const std::vector<uint8_t> v = json::to_msgpack(j);
  return std::string(v.begin(), v.end());
}

inline json from_mp(std::span<const char> b) {
  return json::from_msgpack(std::vector<uint8_t>(b.begin(), b.end()));
}

inline json from_mp(const out_buffer& b) { return from_mp(b.span()); }

inline std::span<const char> bytes(const std::string& s) { return {s.data(), s.size()}; }

}  // namespace rill::test
