// top_customers: ranking by revenue in the base currency.
#include <gtest/gtest.h>

#include <limits>

#include "readmodels/models/top_customers_model.h"
#include "tests/readmodels/models_events.h"

namespace rill::readmodels {
namespace {

using testing::ask;
using testing::event_log;
using testing::json;
using testing::ok;

TEST(ModelsTopCustomers, RanksByRevenueCountingOrdersOnceTheirRateIsKnown) {
  top_customers_model m({});
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.customer("c2", "Bob", "b@x");
  log.customer("c3", "Cy", "c@x");
  log.order("o1", "c1", 100, "EUR");   // counts at once
  log.order("o2", "c2", 50, "USD");    // not until its rate arrives
  log.order("o3", "c3", 30.5, "eur");  // base currency, any case
  log.apply_to(m);
  EXPECT_EQ(ok(m, "top", {{"n", 10}}), (json{{{"id", "c1"}, {"name", "Ann"}, {"revenue", 100}},
                                             {{"id", "c3"}, {"name", "Cy"}, {"revenue", 30.5}},
                                             {{"id", "c2"}, {"name", "Bob"}, {"revenue", 0}}}));

  const size_t before = log.size();
  log.rate("o2", 2.5);
  log.add("CUSTOMER_UPDATED", "customer", "c2", {{"name", "Robert"}});
  auto changed = log.apply_to(m, before);
  EXPECT_EQ(changed, (std::vector<std::string>{"c2", "c2"}));
  EXPECT_EQ(ok(m, "top", {{"n", 2}}), (json{{{"id", "c2"}, {"name", "Robert"}, {"revenue", 125}},
                                            {{"id", "c1"}, {"name", "Ann"}, {"revenue", 100}}}));
}

TEST(ModelsTopCustomers, TiesAreBrokenByIdAscending) {
  top_customers_model m({});
  event_log log;
  for (const char* id : {"b", "c", "a"}) log.customer(id, id, "x@y");
  log.order("o1", "c", 10, "EUR");
  log.order("o2", "a", 10, "EUR");
  log.order("o3", "b", 10, "EUR");
  log.apply_to(m);
  json top = ok(m, "top", {{"n", 3}});
  EXPECT_EQ(top[0]["id"], "a");
  EXPECT_EQ(top[1]["id"], "b");
  EXPECT_EQ(top[2]["id"], "c");
}

TEST(ModelsTopCustomers, TheLatestRateWinsAndForeignBasesAreIgnored) {
  top_customers_model m({});
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.order("o1", "c1", 100, "USD");
  log.rate("o1", 0.5);
  log.rate("o1", 0.25);
  log.rate("o1", 7, "GBP");  // quoted in another base: ignored
  log.apply_to(m);
  EXPECT_EQ(ok(m, "top", {{"n", 1}})[0]["revenue"], 25);
}

TEST(ModelsTopCustomers, ConfiguredBaseCurrency) {
  top_customers_model m(top_customers_model::parse({{"base", "usd"}}));
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.order("o1", "c1", 100, "USD");
  log.order("o2", "c1", 100, "EUR");
  log.rate("o2", 1.5, "EUR");  // not our base
  log.apply_to(m);
  EXPECT_EQ(ok(m, "top", {{"n", 1}})[0]["revenue"], 100);
}

TEST(ModelsTopCustomers, BadArguments) {
  top_customers_model m({});
  EXPECT_EQ(ok(m, "top", {{"n", 5}}), json::array());
  EXPECT_EQ(ask(m, "top").code, errc::bad_request);
  EXPECT_EQ(ask(m, "top", {{"n", -1}}).code, errc::bad_request);
  EXPECT_EQ(ask(m, "top", {{"n", 10001}}).code, errc::bad_request);
  EXPECT_EQ(ask(m, "top", {{"n", 1.5}}).code, errc::bad_request);
  EXPECT_EQ(ask(m, "list").code, errc::unknown_query);
}

// Found by fuzz_snapshot: two orders of 1e308 summed to inf, which save()
// wrote and load() (rightly) refuses, so every later snapshot of the model
// was unloadable. Revenue now saturates at the largest finite double.
TEST(ModelsTopCustomers, HugeRevenueSaturatesAndItsSnapshotLoads) {
  top_customers_model m({});
  event_log log;
  log.customer("c1", "Ann", "a@x");
  for (const char* id : {"o1", "o2", "o3"}) {  // log.order() would cast 1e308 to an integer
    log.add("ORDER_CREATED", "order", id,
            {{"customer_id", "c1"}, {"amount", 1e308}, {"currency", id[1] == '3' ? "USD" : "EUR"}});
  }
  log.rate("o3", 10);
  log.rate("o3", 20);
  log.apply_to(m);
  const double top = ok(m, "top", {{"n", 1}})[0]["revenue"].get<double>();
  EXPECT_EQ(top, std::numeric_limits<double>::max());
  top_customers_model back({});
  std::string error;
  const std::string bytes = testing::saved(m);
  ASSERT_TRUE(back.load({bytes.data(), bytes.size()}, error)) << error;
  EXPECT_EQ(testing::saved(back), bytes);
}

}  // namespace
}  // namespace rill::readmodels
