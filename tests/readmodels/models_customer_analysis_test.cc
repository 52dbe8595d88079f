// customer_analysis: ratings, segments and the classification commands that
// apply() decides on (sending them is tested in saga_classification_test).
#include <gtest/gtest.h>

#include "readmodels/models/customer_analysis_model.h"
#include "tests/readmodels/models_events.h"

namespace rill::readmodels {
namespace {

using testing::ask;
using testing::event_log;
using testing::json;
using testing::ok;

customer_analysis_model make(json settings = json::object()) {
  settings["saga"] = false;
  model_config cfg;
  cfg.settings = settings;
  return customer_analysis_model(customer_analysis_model::parse(cfg));
}

TEST(ModelsCustomerAnalysis, RatingFollowsRevenueThresholds) {
  auto m = make();
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.customer("c2", "Bob", "b@x");
  log.customer("c3", "Cy", "c@x");
  log.order("o1", "c1", 999.5, "EUR");
  log.order("o2", "c2", 1000, "EUR");
  log.order("o3", "c3", 4000, "USD");
  log.rate("o3", 2.5);
  log.apply_to(m);
  EXPECT_EQ(ok(m, "rating", {{"id", "c1"}}), (json{{"id", "c1"},
                                                   {"revenue", 999.5},
                                                   {"classification", "C"},
                                                   {"assigned", nullptr},
                                                   {"pending", "C"}}));
  EXPECT_EQ(ok(m, "rating", {{"id", "c2"}})["classification"], "B");
  EXPECT_EQ(ok(m, "rating", {{"id", "c3"}})["classification"], "A");
  EXPECT_EQ(ok(m, "rating", {{"id", "c3"}})["revenue"], 10000);
  EXPECT_EQ(ok(m, "segment", {{"classification", "A"}}), json::array({"c3"}));
  EXPECT_EQ(ok(m, "segment", {{"classification", "B"}}), json::array({"c2"}));
  EXPECT_EQ(ok(m, "segment", {{"classification", "C"}}), json::array({"c1"}));
}

TEST(ModelsCustomerAnalysis, CustomersWithoutRevenueAreRatedCAndSegmentsAreSorted) {
  auto m = make({{"thresholds", {{"A", 50}, {"B", 20}}}});
  event_log log;
  for (const char* id : {"d", "b", "a", "c"}) log.customer(id, id, "x@y");
  log.order("o1", "c", 30, "EUR");
  log.apply_to(m);
  EXPECT_EQ(ok(m, "segment", {{"classification", "C"}}), json::array({"a", "b", "d"}));
  EXPECT_EQ(ok(m, "segment", {{"classification", "B"}}), json::array({"c"}));
  EXPECT_EQ(ok(m, "segment", {{"classification", "C"}, {"offset", 1}, {"limit", 1}}),
            json::array({"b"}));
  EXPECT_EQ(ok(m, "rating", {{"id", "a"}})["pending"], nullptr);
}

TEST(ModelsCustomerAnalysis, PendingCommandFollowsRatingAndIsCompletedByTheEvent) {
  auto m = make();
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.order("o1", "c1", 10, "EUR");  // C: differs from "none" -> pending C
  log.apply_to(m);
  EXPECT_EQ(ok(m, "rating", {{"id", "c1"}})["pending"], "C");

  size_t at = log.size();
  log.order("o2", "c1", 10, "EUR");  // still C: nothing new
  log.classify("c1", "C");           // completes the pending command
  log.apply_to(m, at);
  json r = ok(m, "rating", {{"id", "c1"}});
  EXPECT_EQ(r["pending"], nullptr);
  EXPECT_EQ(r["assigned"], "C");

  at = log.size();
  log.order("o3", "c1", 2000, "USD");  // no rate yet: revenue unchanged
  log.apply_to(m, at);
  EXPECT_EQ(ok(m, "rating", {{"id", "c1"}})["pending"], nullptr);
  at = log.size();
  log.rate("o3", 1);  // now B
  log.apply_to(m, at);
  r = ok(m, "rating", {{"id", "c1"}});
  EXPECT_EQ(r["classification"], "B");
  EXPECT_EQ(r["pending"], "B");

  at = log.size();
  log.classify("c1", "A");  // somebody else's classification: pending stays
  log.apply_to(m, at);
  r = ok(m, "rating", {{"id", "c1"}});
  EXPECT_EQ(r["assigned"], "A");
  EXPECT_EQ(r["pending"], "B");
  at = log.size();
  log.classify("c1", "B");
  log.apply_to(m, at);
  EXPECT_EQ(ok(m, "rating", {{"id", "c1"}})["pending"], nullptr);
}

TEST(ModelsCustomerAnalysis, ManualClassificationIsLeftAloneUntilAnOrderChangesRevenue) {
  auto m = make();
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.classify("c1", "A");
  log.apply_to(m);
  EXPECT_EQ(ok(m, "rating", {{"id", "c1"}})["pending"], nullptr);
  size_t at = log.size();
  log.order("o1", "c1", 5, "EUR");
  log.apply_to(m, at);
  EXPECT_EQ(ok(m, "rating", {{"id", "c1"}})["pending"], "C");
}

TEST(ModelsCustomerAnalysis, Errors) {
  auto m = make();
  EXPECT_EQ(ask(m, "rating", {{"id", "x"}}).code, errc::not_found);
  EXPECT_EQ(ask(m, "rating").code, errc::bad_request);
  EXPECT_EQ(ask(m, "segment", {{"classification", "D"}}).code, errc::bad_request);
  EXPECT_EQ(ask(m, "segment").code, errc::bad_request);
  EXPECT_EQ(ask(m, "top").code, errc::unknown_query);
  model_config cfg;
  cfg.settings = {{"thresholds", {{"A", 10}, {"B", 20}}}, {"saga", false}};
  EXPECT_THROW(customer_analysis_model::parse(cfg), std::invalid_argument);
  cfg.settings = {{"thresholds", {{"A", 10}, {"X", 1}}}, {"saga", false}};
  EXPECT_THROW(customer_analysis_model::parse(cfg), std::invalid_argument);
  // Out of range: the range is quoted as people write it.
  cfg.settings = {{"thresholds", {{"A", -1}}}, {"saga", false}};
  try {
    customer_analysis_model::parse(cfg);
    ADD_FAILURE() << "a negative threshold was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'A' must be between 0 and 1e+300"), std::string::npos)
        << e.what();
  }
  // null is the default, like a setting left out.
  cfg.settings = {{"thresholds", {{"A", nullptr}, {"B", 20}}}, {"saga", false}};
  EXPECT_NO_THROW(customer_analysis_model::parse(cfg));
}

}  // namespace
}  // namespace rill::readmodels
