#include "readmodels/registry.h"

#include "readmodels/models/customer_analysis_model.h"
#include "readmodels/models/customers_model.h"
#include "readmodels/models/email_campaigns_model.h"
#include "readmodels/models/exchange_rates_model.h"
#include "readmodels/models/orders_model.h"
#include "readmodels/models/top_customers_model.h"

namespace rill::readmodels {

std::unique_ptr<read_model> make_model(std::string_view name, const model_config& cfg) {
  if (name == "customers")
    return std::make_unique<customers_model>(customers_model::parse(cfg.settings));
  if (name == "top_customers")
    return std::make_unique<top_customers_model>(top_customers_model::parse(cfg.settings));
  if (name == "orders") return std::make_unique<orders_model>(orders_model::parse(cfg.settings));
  if (name == "customer_analysis")
    return std::make_unique<customer_analysis_model>(customer_analysis_model::parse(cfg));
  if (name == "email_campaigns")
    return std::make_unique<email_campaigns_model>(email_campaigns_model::parse(cfg));
  if (name == "exchange_rates")
    return std::make_unique<exchange_rates_model>(exchange_rates_model::parse(cfg));
  return nullptr;
}

std::vector<std::string> model_names() {
  return {"customers",         "top_customers",   "orders",
          "customer_analysis", "email_campaigns", "exchange_rates"};
}

nlohmann::json model_settings(const nlohmann::json& config, std::string_view name) {
  if (!config.is_object()) return nlohmann::json::object();
  auto models = config.find("models");
  if (models == config.end() || !models->is_object()) return nlohmann::json::object();
  auto it = models->find(std::string(name));
  if (it == models->end() || it->is_null()) return nlohmann::json::object();
  return *it;
}

}  // namespace rill::readmodels
