// save() / load() of every default model: a loaded copy saves the same bytes
// and answers the same; damaged snapshots are refused without harm.
#include <tuple>

#include <gtest/gtest.h>

#include "readmodels/registry.h"
#include "tests/readmodels/models_events.h"

namespace rill::readmodels {
namespace {

using testing::ask;
using testing::event_log;
using testing::json;
using testing::saved;
using testing::temp_dir;

void script(event_log& log) {
  log.customer("c1", "Ann", "ann@example.com", "DE");
  log.customer("c2", "Bob", "bob@example.com");
  log.customer("c/3", "Cy ü", "cy@example.com");
  log.order("o1", "c1", 15000, "EUR");
  log.order("o2", "c2", 700, "USD");
  log.order("o3", "c2", 12.5, "GBP");
  log.rate("o2", 2);
  log.classify("c1", "A");
  log.classify("c2", "B");
  log.add("CUSTOMER_UPDATED", "customer", "c2", {{"name", "Robert"}, {"country", "FR"}});
  log.campaign("k1", "B", "Hi", "Hello\nthere");
  log.order("o4", "c/3", 3, "JPY");
}

// Queries whose answers must survive a round trip, per model.
std::vector<std::pair<std::string, json>> probes(const std::string& model) {
  if (model == "customers")
    return {{"get", {{"id", "c1"}}}, {"get", {{"id", "c2"}}}, {"list", json::object()}};
  if (model == "top_customers") return {{"top", {{"n", 10}}}};
  if (model == "orders")
    return {
        {"get", {{"id", "o2"}}}, {"get", {{"id", "o3"}}}, {"by_customer", {{"customer_id", "c2"}}}};
  if (model == "customer_analysis")
    return {{"rating", {{"id", "c1"}}},
            {"rating", {{"id", "c2"}}},
            {"rating", {{"id", "c/3"}}},
            {"segment", {{"classification", "C"}}}};
  if (model == "email_campaigns") return {{"get", {{"id", "k1"}}}};
  return {{"get", {{"id", "o1"}}},
          {"get", {{"id", "o2"}}},
          {"get", {{"id", "o3"}}},
          {"pending", json::object()}};
}

TEST(ModelsRoundTrip, LoadedStateSavesTheSameBytesAndAnswersTheSame) {
  temp_dir dir;
  event_log log;
  script(log);
  for (const std::string& name : model_names()) {
    SCOPED_TRACE(name);
    auto m = make_model(name, testing::config_in(dir));
    log.apply_to(*m);
    const std::string bytes = saved(*m);
    auto copy = m->clone_empty();
    std::string error;
    ASSERT_TRUE(copy->load({bytes.data(), bytes.size()}, error)) << error;
    EXPECT_EQ(saved(*copy), bytes);
    for (const auto& [q, args] : probes(name)) {
      auto a = ask(*m, q, args), b = ask(*copy, q, args);
      EXPECT_EQ(a.code, errc::ok) << q << " " << a.message;
      EXPECT_EQ(a.code, b.code);
      EXPECT_EQ(a.result, b.result) << q << " " << args.dump();
    }
    // Both go on alike.
    event_log more;
    script(more);
    more.order("o5", "c1", 1, "EUR");
    change_set ch;
    m->apply(more[more.size() - 1], ch);
    copy->apply(more[more.size() - 1], ch);
    EXPECT_EQ(saved(*copy), saved(*m));
  }
}

TEST(ModelsRoundTrip, DamagedSnapshotsAreRefusedAndTheModelIsUntouched) {
  temp_dir dir;
  event_log log;
  script(log);
  for (const std::string& name : model_names()) {
    SCOPED_TRACE(name);
    auto m = make_model(name, testing::config_in(dir));
    log.apply_to(*m);
    const std::string good = saved(*m);
    auto target = make_model(name, testing::config_in(dir));
    log.apply_to(*target);
    std::string error;
    // Every truncation.
    for (size_t n = 0; n < good.size(); n += 1 + good.size() / 300) {
      error.clear();
      EXPECT_FALSE(target->load({good.data(), n}, error)) << n;
      EXPECT_FALSE(error.empty());
    }
    // Trailing garbage, and random byte flips (which may or may not still
    // parse, but must never crash).
    std::string longer = good + "x";
    EXPECT_FALSE(target->load({longer.data(), longer.size()}, error));
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 500; ++i) {
      std::string bad = good;
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      bad[x % bad.size()] = static_cast<char>(x >> 32);
      auto scratch = m->clone_empty();
      (void)scratch->load({bad.data(), bad.size()}, error);
    }
    EXPECT_EQ(saved(*target), good);
  }
  // Another model's snapshot.
  auto customers = make_model("customers", testing::config_in(dir));
  auto orders = make_model("orders", testing::config_in(dir));
  const std::string bytes = saved(*customers);
  std::string error;
  EXPECT_FALSE(orders->load({bytes.data(), bytes.size()}, error));
  EXPECT_NE(error.find("rill.customers"), std::string::npos) << error;
}

// A snapshot that names one id twice is refused (the indexes find a
// duplicate through the records they point at).
TEST(ModelsRoundTrip, SnapshotsWithADuplicateIdAreRefused) {
  temp_dir dir;
  event_log log;
  log.customer("cust-A", "Ann", "a@x");
  log.customer("cust-B", "Bob", "b@x");
  log.order("ord-A", "cust-A", 10, "EUR");
  log.order("ord-B", "cust-B", 20, "EUR");
  auto replace_all = [](std::string s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
      s.replace(at, from.size(), to);
    return s;
  };
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"customers", "cust-B", "duplicate customer id"},
      {"orders", "cust-B", "duplicate customer id"},
      {"orders", "ord-B", "duplicate order id"}};
  for (const auto& [name, id, why] : cases) {
    SCOPED_TRACE(name + " " + id);
    auto m = make_model(name, testing::config_in(dir));
    log.apply_to(*m);
    const std::string good = saved(*m);
    const std::string bad = replace_all(good, id, id.substr(0, id.size() - 1) + "A");
    ASSERT_NE(bad, good);
    auto copy = m->clone_empty();
    std::string error;
    ASSERT_TRUE(copy->load({good.data(), good.size()}, error)) << error;
    EXPECT_FALSE(copy->load({bad.data(), bad.size()}, error));
    EXPECT_NE(error.find(why), std::string::npos) << error;
    EXPECT_EQ(saved(*copy), good) << "a refused snapshot leaves the model as it was";
  }
}

}  // namespace
}  // namespace rill::readmodels
