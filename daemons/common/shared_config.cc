#include "daemons/common/shared_config.h"

#include <algorithm>
#include <iterator>

namespace rill::daemon {
namespace {

// Every top-level key some daemon applies. Keep in step with the options of
// daemons/*/options.cc (tests/daemons/shared_config_test.cc hands one file
// holding all of them to every daemon).
constexpr std::string_view kTopLevel[] = {
    // shared: the data directory, endpoints, security and logging
    "data", "command", "events", "replay", "notify", "notify_in", "rates", "model_endpoints",
    "curve_key", "curve_allow", "log_level", "max_request_bytes",
    // rill-core
    "schema", "sync", "segment_size", "prefault_ahead", "max_batch", "max_key_len", "max_keys",
    "drain_max", "busy_poll_us", "checkpoint_every", "checkpoint_interval_s",
    // rill-notify
    "expiry_ms", "client_queue", "max_clients", "max_watches", "max_report_keys", "batch",
    // rill-rates
    "endpoint", "rates_file", "delay_ms", "fail_every",
    // rill-proj: "models" (names or settings); its other options live in
    // the "proj" section only.
    "models"};

constexpr std::string_view kSections[] = {"core", "proj", "notify", "rates", "models"};

}  // namespace

bool known_top_level_key(std::string_view key) {
  return std::find(std::begin(kTopLevel), std::end(kTopLevel), key) != std::end(kTopLevel);
}

bool section_key(std::string_view key) {
  return std::find(std::begin(kSections), std::end(kSections), key) != std::end(kSections);
}

}  // namespace rill::daemon
