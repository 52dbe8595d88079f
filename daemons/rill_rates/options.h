#pragma once
// rill-rates' options: one struct, every field with its default and its
// check, validated once at start. Sources, later ones winning: the defaults
// below, a JSON config file (--config: field names as keys, at the top level
// or in a "rates" section, the rates file as "rates_file"; a top-level
// "rates" string is the endpoint, as for rill-proj; other daemons' keys are
// passed over, see daemons/common/shared_config.h), flags.
#include <cstdint>
#include <filesystem>
#include <string>

namespace rill::daemon {

struct rates_options {
  std::filesystem::path data = "rill-data";  // data directory D
  std::string rates;                         // rates file; empty = the shipped config/rates.json
  std::string endpoint;                      // REP endpoint; empty = ipc://D/run/rates
  uint64_t delay_ms = 0;                     // sleep before answering a rate request (0 .. 600000)
  uint64_t fail_every = 0;  // answer every Nth rate request with unavailable (0 = never)
  uint64_t max_request_bytes = 64 << 10;  // larger requests: too_large (1 KiB .. 64 MiB)
  std::string curve_key;                  // server CURVE key file (needed for tcp://)
  std::string curve_allow;                // allow-list of client public keys (tcp://)
  std::string log_level = "info";

  // The endpoint to bind and the rates file to read (defaults resolved).
  std::string resolved_endpoint() const;
  // --rates, else the first of: the source tree's config/rates.json (path
  // compiled in), <binary dir>/../../config/rates.json,
  // <binary dir>/../share/rill/rates.json. Empty if none exists.
  std::filesystem::path resolved_rates() const;
};

// Parses flags (and --config FILE) into `out`. Returns 0 to go on, -1 after
// --help (exit 0), or 2 on a usage error (the message printed).
int parse_rates_options(int argc, char** argv, rates_options& out);

}  // namespace rill::daemon
