// customers: get / list against scripted events.
#include <gtest/gtest.h>

#include "readmodels/models/customers_model.h"
#include "tests/readmodels/models_events.h"

namespace rill::readmodels {
namespace {

using testing::ask;
using testing::event_log;
using testing::json;
using testing::ok;

TEST(ModelsCustomers, GetReturnsTheProjectedRecord) {
  customers_model m({});
  event_log log;
  log.customer("c1", "Ann", "ann@example.com", "DE");
  log.customer("c2", "Bob", "bob@example.com");
  log.add("CUSTOMER_UPDATED", "customer", "c1", {{"email", "ann@new.example"}});
  log.classify("c1", "B");
  auto changed = log.apply_to(m);
  EXPECT_EQ(changed, (std::vector<std::string>{"c1", "c2", "c1", "c1"}));

  EXPECT_EQ(ok(m, "get", {{"id", "c1"}}), (json{{"id", "c1"},
                                                {"name", "Ann"},
                                                {"email", "ann@new.example"},
                                                {"country", "DE"},
                                                {"classification", "B"},
                                                {"version", 3}}));
  EXPECT_EQ(ok(m, "get", {{"id", "c2"}}), (json{{"id", "c2"},
                                                {"name", "Bob"},
                                                {"email", "bob@example.com"},
                                                {"country", nullptr},
                                                {"classification", nullptr},
                                                {"version", 1}}));
}

TEST(ModelsCustomers, UnknownIdIsNotFoundAndBadArgsAreBadRequest) {
  customers_model m({});
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.apply_to(m);
  EXPECT_EQ(ask(m, "get", {{"id", "nope"}}).code, errc::not_found);
  EXPECT_EQ(ask(m, "get", json::object()).code, errc::bad_request);
  EXPECT_EQ(ask(m, "get", {{"id", json::array()}}).code, errc::bad_request);
  EXPECT_EQ(ask(m, "get", {{"id", ""}}).code, errc::bad_request);
  EXPECT_EQ(ask(m, "get", {{"id", "c1"}, {"extra", 1}}).code, errc::bad_request);
  EXPECT_EQ(ask(m, "get", json::array()).code, errc::bad_request);
  EXPECT_EQ(ask(m, "list", {{"limit", -1}}).code, errc::bad_request);
  EXPECT_EQ(ask(m, "list", {{"limit", 10001}}).code, errc::bad_request);
  EXPECT_EQ(ask(m, "list", {{"offset", "x"}}).code, errc::bad_request);
  EXPECT_EQ(ask(m, "nope").code, errc::unknown_query);
}

TEST(ModelsCustomers, ArgumentsOfTheWrongTypeAreBadRequest) {
  customers_model m({});
  event_log log;
  log.customer("42", "Ann", "a@x");
  log.apply_to(m);
  EXPECT_EQ(ok(m, "get", {{"id", "42"}})["name"], "Ann");
  // An id is a string and a count a number, even when the other type would
  // spell the same value.
  auto by_number = ask(m, "get", {{"id", 42}});
  EXPECT_EQ(by_number.code, errc::bad_request);
  EXPECT_EQ(by_number.message, "argument 'id' must be a string");
  EXPECT_EQ(ask(m, "list", {{"limit", "1"}}).code, errc::bad_request);
  EXPECT_EQ(ask(m, "list", {{"offset", "0"}}).code, errc::bad_request);
  EXPECT_EQ(ok(m, "list", {{"limit", 1}}).size(), 1u);
}

TEST(ModelsCustomers, ListPagesInCreationOrder) {
  customers_model m({});
  event_log log;
  for (int i = 0; i < 250; ++i) log.customer("z" + std::to_string(1000 - i), "n", "e@x");
  log.apply_to(m);
  json all = ok(m, "list");
  ASSERT_EQ(all.size(), 100u);  // default limit
  EXPECT_EQ(all[0]["id"], "z1000");
  EXPECT_EQ(all[99]["id"], "z901");
  json page = ok(m, "list", {{"offset", 240}, {"limit", 20}});
  ASSERT_EQ(page.size(), 10u);
  EXPECT_EQ(page[0]["id"], "z760");
  EXPECT_EQ(ok(m, "list", {{"offset", 250}}), json::array());
  EXPECT_EQ(ok(m, "list", {{"offset", 1u << 31}}), json::array());
  EXPECT_EQ(ok(m, "list", {{"limit", 0}}), json::array());
  EXPECT_EQ(ok(m, "list", {{"limit", 10000}}).size(), 250u);
}

TEST(ModelsCustomers, MalformedEventsAreIgnored) {
  customers_model m({});
  event_log log;
  log.add("CUSTOMER_CREATED", "customer", "c1", {{"name", 5}, {"email", "a@x"}});
  log.add("CUSTOMER_CREATED", "customer", "c2", {{"name", "Bob"}});
  log.add("CUSTOMER_UPDATED", "customer", "ghost", {{"name", "X"}});
  log.customer("c3", "Cy", "c@x");
  log.classify("c3", "Z");
  log.customer("c3", "Again", "again@x");  // a second create of the same id
  log.apply_to(m);
  EXPECT_EQ(ask(m, "get", {{"id", "c1"}}).code, errc::not_found);
  EXPECT_EQ(ask(m, "get", {{"id", "c2"}}).code, errc::not_found);
  EXPECT_EQ(ask(m, "get", {{"id", "ghost"}}).code, errc::not_found);
  json c3 = ok(m, "get", {{"id", "c3"}});
  EXPECT_EQ(c3["name"], "Cy");
  EXPECT_EQ(c3["classification"], nullptr);
}

}  // namespace
}  // namespace rill::readmodels
