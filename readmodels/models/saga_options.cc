#include "readmodels/models/saga_options.h"

#include <filesystem>

#include "transport/endpoints.h"
#include "transport/security.h"

namespace rill::readmodels {

std::string endpoint_or_default(const std::string& given, const std::string& data_dir,
                                const std::string& file) {
  if (!given.empty() || data_dir.empty()) return given;
  return "ipc://" + (transport::run_dir(data_dir) / file).string();
}

void require_keys(settings_reader& r, const std::string& endpoint,
                  const transport::client_security* keys) {
  try {
    transport::require_client_keys(endpoint, keys);
  } catch (const transport::security_error&) {
    r.fail("the saga's endpoint " + endpoint +
           " is tcp:// and needs CURVE keys (rill-proj --curve-key and --curve-server); a saga "
           "never sends its commands unencrypted");
  }
}

saga_options saga_options::parse(settings_reader& r, const model_config& cfg) {
  saga_options o;
  o.enabled = r.boolean("saga", o.enabled);
  o.command_timeout = std::chrono::milliseconds(r.uint("command_timeout_ms", 5000, 1, 3'600'000));
  o.max_in_flight = r.uint("max_in_flight", o.max_in_flight, 1, 100'000);
  o.max_per_tick = r.uint("max_per_tick", o.max_per_tick, 1, 1'000'000);
  o.retry = retry_policy::parse(r);
  o.command_endpoint = endpoint_or_default(cfg.command_endpoint, cfg.data_dir, "command");
  if (o.enabled && o.command_endpoint.empty())
    r.fail("saga", "needs a command endpoint or a data directory");
  o.keys = cfg.client_keys;
  if (o.enabled) require_keys(r, o.command_endpoint, o.keys.get());
  return o;
}

}  // namespace rill::readmodels
