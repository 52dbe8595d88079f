#pragma once
// number_text: a number as people write it in a message, for bounds and
// limits quoted back to a user: whole numbers below 1e15 in full
// ("1000000"), anything else in its shortest round-trip form ("0.01",
// "1e+300"). std::to_string gave "0.010000" and 300-digit integers.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

namespace rill {

inline std::string number_text(double v) {
  if (std::abs(v) < 1e15 && v == std::trunc(v)) return std::to_string(static_cast<int64_t>(v));
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace rill
