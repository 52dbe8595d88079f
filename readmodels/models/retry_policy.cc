#include "readmodels/models/retry_policy.h"

#include <cmath>

#include "readmodels/models/settings.h"

namespace rill::readmodels {

std::chrono::milliseconds retry_policy::delay(uint32_t failures, uint64_t salt) const {
  const double base = static_cast<double>(initial.count());
  const double cap = static_cast<double>(max.count());
  const double exponent = failures == 0 ? 0.0 : static_cast<double>(failures - 1);
  double d = base * std::pow(multiplier, exponent);
  if (!std::isfinite(d) || d > cap) d = cap;
  // Up to 20% shorter, from the salt mixed with the attempt number.
  uint64_t x = salt ^ (static_cast<uint64_t>(failures) * 0x9E3779B97F4A7C15ull);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  const double jitter = static_cast<double>(x % 1000) / 1000.0 * 0.2;
  d -= d * jitter;
  if (d < 1) d = 1;
  return std::chrono::milliseconds(static_cast<int64_t>(d));
}

retry_policy retry_policy::parse(settings_reader& r) {
  retry_policy p;
  p.initial = std::chrono::milliseconds(r.uint("retry_initial_ms", 200, 1, 3'600'000));
  p.max = std::chrono::milliseconds(
      r.uint("retry_max_ms", 30'000, static_cast<uint64_t>(p.initial.count()), 86'400'000));
  p.multiplier = r.number("retry_multiplier", 2.0, 1.0, 100.0);
  p.max_attempts = r.uint("max_attempts", 0, 0, 1'000'000'000);
  return p;
}

}  // namespace rill::readmodels
