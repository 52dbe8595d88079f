#pragma once
// retry_policy: capped exponential backoff for a saga's side effects.
//
// After the n-th failed attempt (n >= 1) the next one is due after
//   min(initial * multiplier^(n-1), max)
// shortened by up to 20% of jitter, so that many items failing together (a
// service going down) do not all retry in the same instant. The jitter is
// derived from a salt (e.g. a hash of the item's id), not from a random
// generator, so it is reproducible in tests.
//
// Settings (per saga, config/default.json): retry_initial_ms (200),
// retry_max_ms (30000), retry_multiplier (2), max_attempts (0 = retry
// transient failures forever).
// Thread-safety: a value; thread-safe for concurrent reads.
#include <chrono>
#include <cstdint>

namespace rill::readmodels {

class settings_reader;

struct retry_policy {
  std::chrono::milliseconds initial{200};
  std::chrono::milliseconds max{30000};
  double multiplier = 2.0;
  uint64_t max_attempts = 0;  // 0 = no limit

  // The wait after `failures` failed attempts (failures >= 1).
  std::chrono::milliseconds delay(uint32_t failures, uint64_t salt) const;
  // True when no further attempt may be made after `failures` failures.
  bool exhausted(uint32_t failures) const { return max_attempts != 0 && failures >= max_attempts; }

  // Reads the retry_* settings (and max_attempts). Throws on invalid values.
  static retry_policy parse(settings_reader& r);
};

}  // namespace rill::readmodels
