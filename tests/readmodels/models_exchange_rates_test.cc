// exchange_rates: order states as apply() records them (the lookups and
// commands are tested in saga_exchange_rates_test).
#include <gtest/gtest.h>

#include "readmodels/models/exchange_rates_model.h"
#include "tests/readmodels/models_events.h"

namespace rill::readmodels {
namespace {

using testing::ask;
using testing::event_log;
using testing::json;
using testing::ok;

exchange_rates_model make() {
  model_config cfg;
  cfg.settings = {{"saga", false}};
  return exchange_rates_model(exchange_rates_model::parse(cfg));
}

TEST(ModelsExchangeRates, OrdersOutsideTheBaseWaitUntilTheirRateIsSet) {
  auto m = make();
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.order("o1", "c1", 10, "EUR");
  log.order("o2", "c1", 10, "usd");
  log.order("o3", "c1", 10, "GBP");
  log.apply_to(m);
  EXPECT_EQ(
      ok(m, "get", {{"id", "o1"}}),
      (json{{"id", "o1"}, {"currency", "EUR"}, {"state", "base"}, {"attempts", 0}, {"rate", 1}}));
  EXPECT_EQ(ok(m, "get", {{"id", "o2"}}),
            (json{{"id", "o2"}, {"currency", "USD"}, {"state", "waiting"}, {"attempts", 0}}));
  EXPECT_EQ(ok(m, "pending"), json::array({"o2", "o3"}));

  const size_t at = log.size();
  log.rate("o3", 1.25);
  log.rate("o2", 3, "GBP");  // not in our base: still waiting
  auto changed = log.apply_to(m, at);
  EXPECT_EQ(changed, (std::vector<std::string>{"o3"}));
  EXPECT_EQ(ok(m, "pending"), json::array({"o2"}));
  EXPECT_EQ(
      ok(m, "get", {{"id", "o3"}}),
      (json{
          {"id", "o3"}, {"currency", "GBP"}, {"state", "done"}, {"attempts", 0}, {"rate", 1.25}}));
}

TEST(ModelsExchangeRates, Errors) {
  auto m = make();
  EXPECT_EQ(ask(m, "get", {{"id", "x"}}).code, errc::not_found);
  EXPECT_EQ(ask(m, "get").code, errc::bad_request);
  EXPECT_EQ(ask(m, "pending", {{"x", 1}}).code, errc::bad_request);
  EXPECT_EQ(ok(m, "pending"), json::array());
  EXPECT_EQ(ask(m, "rate").code, errc::unknown_query);
  model_config cfg;  // a saga needs its endpoints
  EXPECT_THROW(exchange_rates_model::parse(cfg), std::invalid_argument);
  cfg.settings = {{"saga", false}, {"base", "EURO"}};
  EXPECT_THROW(exchange_rates_model::parse(cfg), std::invalid_argument);
  cfg.settings = {{"saga", false}, {"rates_timeout_ms", "fast"}};
  EXPECT_THROW(exchange_rates_model::parse(cfg), std::invalid_argument);
}

}  // namespace
}  // namespace rill::readmodels
