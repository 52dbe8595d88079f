#pragma once
// The registry of the default domain's read models and sagas (DOMAIN.md):
//
//   customers          customer records (get, list)
//   top_customers      customers by revenue in the base currency (top)
//   orders             orders with customer name and base amount (get, by_customer)
//   customer_analysis  A/B/C rating (rating, segment) + the classification saga
//   email_campaigns    campaigns (get) + the email campaign saga
//   exchange_rates     the exchange-rate saga (get, pending)
//
// model_config::settings holds the model's own settings, i.e. the value of
// "models": {"<name>": {...}} in config/default.json (which documents every
// setting and its default; keys starting with '_' are comments).
// Thread-safety: thread-safe (no shared state).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "readmodels/read_model.h"

namespace rill::readmodels {

// A new, empty model `name`; nullptr for an unknown name. Throws
// std::invalid_argument (with the model and setting named) when cfg.settings
// are invalid: an unknown setting, a wrong type, a value out of range, or a
// saga without the endpoint / directory it needs.
std::unique_ptr<read_model> make_model(std::string_view name, const model_config& cfg);

// The default set `rill up` starts, one rill-proj each.
std::vector<std::string> model_names();

// The settings of `name` in a config document shaped like config/default.json
// ({"models": {"<name>": {...}}}); an empty object when it has none.
nlohmann::json model_settings(const nlohmann::json& config, std::string_view name);

}  // namespace rill::readmodels
