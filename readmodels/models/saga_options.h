#pragma once
// saga_options: the settings every saga shares (config/default.json):
//
//   saga               true   perform side effects; false = a plain read model
//                             (e.g. a second copy that only answers queries)
//   command_timeout_ms 5000   a command without a reply by then is retried
//   max_in_flight      256    commands outstanding at once
//   max_per_tick       1024   work items started by one tick (bounds a tick)
//   retry_*, max_attempts     the retry_policy
//
// plus the command endpoint from model_config (when empty: the default
// ipc://D/run/command of the data directory). Thread-safety: a value.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "readmodels/models/retry_policy.h"
#include "readmodels/models/settings.h"
#include "readmodels/read_model.h"

namespace rill::readmodels {

struct saga_options {
  bool enabled = true;
  std::chrono::milliseconds command_timeout{5000};
  size_t max_in_flight = 256;
  size_t max_per_tick = 1024;
  retry_policy retry;
  std::string command_endpoint;
  std::shared_ptr<const transport::client_security> keys;  // model_config::client_keys

  // Reads the shared settings. Throws std::invalid_argument on bad values.
  static saga_options parse(settings_reader& r, const model_config& cfg);
};

// Fails `r` (setting "saga") when `endpoint` is tcp:// and there are no keys.
void require_keys(settings_reader& r, const std::string& endpoint,
                  const transport::client_security* keys);

// The endpoint to use: `given`, else ipc://D/run/<file> for a non-empty data
// dir, else empty.
std::string endpoint_or_default(const std::string& given, const std::string& data_dir,
                                const std::string& file);

}  // namespace rill::readmodels
