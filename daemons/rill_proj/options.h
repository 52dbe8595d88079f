#pragma once
// rill-proj's options: the runtime's settings (readmodels/runtime_options.h,
// every field with its default and check) plus what the daemon itself needs.
// Sources, later ones winning: the defaults, a JSON config file (--config),
// flags.
//
// The config file may be shared with the other daemons (`rill up --config`):
//   - top level: data, events, replay, command, rates, notify_in,
//     model_endpoints (same names as the flags) apply; keys of other daemons
//     (daemons/common/shared_config.h) are passed over, any other key is an
//     error;
//   - "proj": {...}: any rill-proj option by its flag name with '_' for '-'
//     (snapshot_every, model_endpoints: {name: EP}, models: [names], ...);
//     an unknown key here is an error;
//   - "models": {<name>: {settings...}}: each model's own settings, passed as
//     model_config.settings (top level or inside "proj");
//   - keys starting with '_' are comments, anywhere.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "readmodels/runtime_options.h"

namespace rill::proj {

struct proj_options {
  readmodels::runtime_options rt;   // data dir, endpoints, snapshots, limits
  std::vector<std::string> models;  // the read models to host (at least one)
  nlohmann::json model_settings = nlohmann::json::object();  // name -> settings
  std::string command_endpoint;    // for sagas; empty = ipc://D/run/command
  std::string rates_endpoint;      // for the exchange-rate saga; empty = ipc://D/run/rates
  std::string log_level = "info";  // trace, debug, info, warn, error
};

// Parses flags (and --config FILE) into `out` and validates everything.
// Returns 0 to go on, -1 after --help (exit 0), or 2 on a usage error (the
// message printed to stderr).
int parse_proj_options(int argc, char** argv, proj_options& out);

// The pid file's name for these models: rill-proj-<models joined by '+'>.pid.
std::string pid_file_name(const std::vector<std::string>& models);

}  // namespace rill::proj
