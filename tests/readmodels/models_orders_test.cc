// orders: get / by_customer with the customer's name and the base amount.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "readmodels/models/orders_model.h"
#include "tests/readmodels/models_events.h"

namespace rill::readmodels {
namespace {

using testing::ask;
using testing::event_log;
using testing::json;
using testing::ok;

TEST(ModelsOrders, RateAndBaseAmountAppearWhenTheRateArrives) {
  orders_model m({});
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.order("o1", "c1", 80, "USD");
  log.order("o2", "c1", 12.5, "EUR");
  auto changed = log.apply_to(m);
  EXPECT_EQ(changed, (std::vector<std::string>{"c1", "o1", "c1", "o2", "c1"}));
  EXPECT_EQ(ok(m, "get", {{"id", "o1"}}), (json{{"id", "o1"},
                                                {"customer_id", "c1"},
                                                {"customer_name", "Ann"},
                                                {"amount", 80},
                                                {"currency", "USD"}}));
  EXPECT_EQ(ok(m, "get", {{"id", "o2"}}), (json{{"id", "o2"},
                                                {"customer_id", "c1"},
                                                {"customer_name", "Ann"},
                                                {"amount", 12.5},
                                                {"currency", "EUR"},
                                                {"rate", 1},
                                                {"amount_base", 12.5}}));
  size_t before = log.size();
  log.rate("o1", 0.75);
  log.add("CUSTOMER_UPDATED", "customer", "c1", {{"name", "Anna"}});
  // A rename changes customer_name in every order of the customer: the
  // customer's key (by_customer) and each order's key (get) are reported
  // (its orders newest first; a change set's order means nothing).
  EXPECT_EQ(log.apply_to(m, before), (std::vector<std::string>{"o1", "c1", "c1", "o2", "o1"}));
  before = log.size();
  log.add("CUSTOMER_UPDATED", "customer", "c1", {{"name", "Anna"}});
  EXPECT_EQ(log.apply_to(m, before), (std::vector<std::string>{"c1"}))
      << "same name: no order changed";
  EXPECT_EQ(ok(m, "get", {{"id", "o1"}}), (json{{"id", "o1"},
                                                {"customer_id", "c1"},
                                                {"customer_name", "Anna"},
                                                {"amount", 80},
                                                {"currency", "USD"},
                                                {"rate", 0.75},
                                                {"amount_base", 60}}));
}

TEST(ModelsOrders, ByCustomerListsOrdersInSeqOrder) {
  orders_model m({});
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.customer("c2", "Bob", "b@x");
  log.customer("c3", "Cy", "c@x");
  log.order("o9", "c1", 1, "EUR");
  log.order("o1", "c2", 2, "EUR");
  log.order("o5", "c1", 3, "GBP");
  log.apply_to(m);
  json list = ok(m, "by_customer", {{"customer_id", "c1"}});
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["id"], "o9");
  EXPECT_EQ(list[1]["id"], "o5");
  EXPECT_EQ(list[1].count("rate"), 0u);
  EXPECT_EQ(ok(m, "by_customer", {{"customer_id", "c3"}}), json::array());
  EXPECT_EQ(ok(m, "by_customer", {{"customer_id", "nobody"}}), json::array());
  EXPECT_EQ(ok(m, "by_customer", {{"customer_id", "c1"}, {"offset", 1}})[0]["id"], "o5");
  EXPECT_EQ(ok(m, "by_customer", {{"customer_id", "c1"}, {"limit", 1}}).size(), 1u);
}

TEST(ModelsOrders, ErrorsAndIgnoredEvents) {
  orders_model m({});
  event_log log;
  log.customer("c1", "Ann", "a@x");
  log.add("ORDER_CREATED", "order", "bad1",
          {{"customer_id", "c1"}, {"amount", -5}, {"currency", "EUR"}});
  log.add("ORDER_CREATED", "order", "bad2",
          {{"customer_id", "c1"}, {"amount", 5}, {"currency", "EURO"}});
  log.order("o1", "c1", 10, "USD");
  log.rate("o1", 0);         // not > 0
  log.rate("o1", 2, "GBP");  // another base
  log.rate("ghost", 2);
  log.apply_to(m);
  EXPECT_EQ(ask(m, "get", {{"id", "bad1"}}).code, errc::not_found);
  EXPECT_EQ(ask(m, "get", {{"id", "bad2"}}).code, errc::not_found);
  EXPECT_EQ(ok(m, "get", {{"id", "o1"}}).count("rate"), 0u);
  EXPECT_EQ(ask(m, "get", {{"id", "o2"}}).code, errc::not_found);
  EXPECT_EQ(ask(m, "get").code, errc::bad_request);
  EXPECT_EQ(ask(m, "by_customer").code, errc::bad_request);
  EXPECT_EQ(ask(m, "by_customer", {{"customer", "c1"}}).code, errc::bad_request);
  EXPECT_EQ(ask(m, "top").code, errc::unknown_query);
}

// The model keeps ids in a pool of 64 KiB chunks and each customer's orders
// as a list threaded through the orders: many long ids (several chunks),
// interleaved customers, pages at every offset, a repeated create, and the
// same answers after a snapshot round trip (load() moves the whole state).
TEST(ModelsOrders, ManyLongIdsPageAndSurviveASnapshot) {
  orders_model m({});
  event_log log;
  const std::string pad(100, 'x');
  for (int c = 0; c < 3; ++c) log.customer("c" + std::to_string(c) + pad, "N", "n@x");
  std::vector<std::vector<std::string>> expected(3);
  for (int i = 0; i < 2000; ++i) {
    const int c = (i * 7) % 3;
    const std::string id = "o" + std::to_string(i) + pad;
    log.order(id, "c" + std::to_string(c) + pad, 1 + i, "EUR");
    expected[c].push_back(id);
  }
  log.order("o5" + pad, "c0" + pad, 999, "USD");  // a second create: ignored
  log.apply_to(m);
  auto check = [&](const orders_model& model) {
    for (int c = 0; c < 3; ++c) {
      const std::string cid = "c" + std::to_string(c) + pad;
      const json all = ok(model, "by_customer", {{"customer_id", cid}});
      ASSERT_EQ(all.size(), expected[c].size());
      for (size_t k = 0; k < all.size(); ++k) EXPECT_EQ(all[k]["id"], expected[c][k]);
      for (uint64_t off : {0u, 1u, 333u, 665u, 666u, 667u, 5000u}) {
        const json page =
            ok(model, "by_customer", {{"customer_id", cid}, {"offset", off}, {"limit", 2}});
        const size_t want =
            off >= expected[c].size() ? 0 : std::min<size_t>(2, expected[c].size() - off);
        ASSERT_EQ(page.size(), want) << off;
        for (size_t k = 0; k < want; ++k) EXPECT_EQ(page[k]["id"], expected[c][off + k]);
      }
    }
    EXPECT_EQ(ok(model, "get", {{"id", "o5" + pad}})["amount"], 6);
  };
  check(m);
  const std::string bytes = testing::saved(m);
  orders_model back({});
  std::string error;
  ASSERT_TRUE(back.load({bytes.data(), bytes.size()}, error)) << error;
  check(back);
  EXPECT_EQ(testing::saved(back), bytes);
}

}  // namespace
}  // namespace rill::readmodels
