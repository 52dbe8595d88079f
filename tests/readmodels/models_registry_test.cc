// The registry and config/default.json: every default model can be made from
// the shipped settings, and those settings are the built-in defaults.
#include <fstream>

#include <gtest/gtest.h>

#include "readmodels/models/customer_analysis_model.h"
#include "readmodels/models/customers_model.h"
#include "readmodels/models/email_campaigns_model.h"
#include "readmodels/models/exchange_rates_model.h"
#include "readmodels/models/orders_model.h"
#include "readmodels/models/top_customers_model.h"
#include "readmodels/registry.h"
#include "tests/readmodels/models_events.h"

namespace rill::readmodels {
namespace {

using testing::json;
using testing::temp_dir;

json shipped_config() {
  std::ifstream in(std::string(RILL_SOURCE_DIR) + "/config/default.json");
  EXPECT_TRUE(in.good());
  return json::parse(in);
}

TEST(ModelsRegistry, MakesEveryDefaultModelFromTheShippedSettings) {
  temp_dir dir;
  const json config = shipped_config();
  const std::vector<std::string> names = model_names();
  EXPECT_EQ(names,
            (std::vector<std::string>{"customers", "top_customers", "orders", "customer_analysis",
                                      "email_campaigns", "exchange_rates"}));
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const json settings = model_settings(config, name);
    EXPECT_TRUE(settings.is_object());
    EXPECT_FALSE(settings.empty()) << "config/default.json documents every model";
    auto m = make_model(name, testing::config_in(dir, settings));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->name(), name);
    auto empty = m->clone_empty();
    EXPECT_EQ(empty->name(), name);
    EXPECT_EQ(testing::saved(*m), testing::saved(*empty));
    const bool saga =
        name == "customer_analysis" || name == "email_campaigns" || name == "exchange_rates";
    EXPECT_EQ(m->as_saga() != nullptr, saga);
    // The same model with no settings at all.
    ASSERT_NE(make_model(name, testing::config_in(dir)), nullptr);
  }
  EXPECT_EQ(make_model("nope", testing::config_in(dir)), nullptr);
}

TEST(ModelsRegistry, ShippedSettingsAreTheBuiltInDefaults) {
  temp_dir dir;
  const json config = shipped_config();
  auto cfg = [&](const char* name) {
    return testing::config_in(dir, model_settings(config, name));
  };
  auto none = testing::config_in(dir);

  const auto c1 = customers_model::parse(cfg("customers").settings);
  const auto c0 = customers_model::parse(none.settings);
  EXPECT_EQ(c1.list_default_limit, c0.list_default_limit);
  EXPECT_EQ(c1.list_max_limit, c0.list_max_limit);

  const auto t1 = top_customers_model::parse(cfg("top_customers").settings);
  const auto t0 = top_customers_model::parse(none.settings);
  EXPECT_EQ(t1.base, t0.base);
  EXPECT_EQ(t1.max_n, t0.max_n);

  EXPECT_EQ(orders_model::parse(cfg("orders").settings).base, "EUR");

  const auto a1 = customer_analysis_model::parse(cfg("customer_analysis"));
  const auto a0 = customer_analysis_model::parse(none);
  EXPECT_EQ(a1.threshold_a, a0.threshold_a);
  EXPECT_EQ(a1.threshold_b, a0.threshold_b);
  EXPECT_EQ(a1.saga.command_timeout, a0.saga.command_timeout);
  EXPECT_EQ(a1.saga.max_in_flight, a0.saga.max_in_flight);
  EXPECT_EQ(a1.saga.max_per_tick, a0.saga.max_per_tick);
  EXPECT_EQ(a1.saga.retry.initial, a0.saga.retry.initial);
  EXPECT_EQ(a1.saga.retry.max, a0.saga.retry.max);
  EXPECT_EQ(a1.saga.retry.multiplier, a0.saga.retry.multiplier);
  EXPECT_EQ(a1.saga.retry.max_attempts, a0.saga.retry.max_attempts);

  const auto e1 = email_campaigns_model::parse(cfg("email_campaigns"));
  const auto e0 = email_campaigns_model::parse(none);
  EXPECT_EQ(e1.from, e0.from);
  EXPECT_EQ(e1.outbox_dir, dir.str() + "/outbox");
  EXPECT_EQ(e1.outbox_dir, e0.outbox_dir);
  EXPECT_EQ(e1.emails_per_tick, e0.emails_per_tick);
  EXPECT_EQ(e1.fsync, e0.fsync);

  const auto x1 = exchange_rates_model::parse(cfg("exchange_rates"));
  const auto x0 = exchange_rates_model::parse(none);
  EXPECT_EQ(x1.base, x0.base);
  EXPECT_EQ(x1.rates_timeout, x0.rates_timeout);
  EXPECT_EQ(x1.rates_max_in_flight, x0.rates_max_in_flight);
  EXPECT_EQ(x1.saga.retry.initial, x0.saga.retry.initial);
}

TEST(ModelsRegistry, InvalidSettingsAreRejectedAtStart) {
  temp_dir dir;
  EXPECT_THROW(make_model("customers", testing::config_in(dir, {{"list_max_limt", 5}})),
               std::invalid_argument);
  EXPECT_THROW(make_model("customers", testing::config_in(dir, {{"list_default_limit", 0}})),
               std::invalid_argument);
  EXPECT_THROW(make_model("orders", testing::config_in(dir, {{"base", 7}})), std::invalid_argument);
  EXPECT_THROW(make_model("exchange_rates",
                          testing::config_in(dir, {{"retry_max_ms", 1}, {"retry_initial_ms", 10}})),
               std::invalid_argument);
  EXPECT_THROW(make_model("top_customers", testing::config_in(dir, json::array())),
               std::invalid_argument);
  // Comments are fine.
  EXPECT_NE(make_model("orders", testing::config_in(dir, {{"_doc", "anything"}})), nullptr);
}

TEST(ModelsRegistry, SagaEndpointsDefaultToTheDataDirectory) {
  model_config cfg;
  cfg.data_dir = "/srv/rill";
  const auto x = exchange_rates_model::parse(cfg);
  EXPECT_EQ(x.saga.command_endpoint, "ipc:///srv/rill/run/command");
  EXPECT_EQ(x.rates_endpoint, "ipc:///srv/rill/run/rates");
  EXPECT_EQ(email_campaigns_model::parse(cfg).outbox_dir, "/srv/rill/outbox");
}

}  // namespace
}  // namespace rill::readmodels
