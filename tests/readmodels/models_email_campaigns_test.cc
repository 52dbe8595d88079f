// email_campaigns: recipients fixed at the campaign's seq (writing the
// messages is tested in saga_email_test).
#include <gtest/gtest.h>

#include "readmodels/models/email_campaigns_model.h"
#include "tests/readmodels/models_events.h"

namespace rill::readmodels {
namespace {

using testing::ask;
using testing::event_log;
using testing::json;
using testing::ok;

email_campaigns_model make() {
  model_config cfg;
  cfg.settings = {{"saga", false}};
  return email_campaigns_model(email_campaigns_model::parse(cfg));
}

TEST(ModelsEmailCampaigns, RecipientsAreTheSegmentAtTheCampaignsSeq) {
  auto m = make();
  event_log log;
  log.customer("c1", "Ann", "a@x.org");
  log.customer("c2", "Bob", "b@x.org");
  log.customer("c3", "Cy", "c@x.org");
  log.customer("c4", "Di", "d@x.org");
  log.classify("c3", "B");
  log.classify("c1", "B");
  log.classify("c2", "A");
  log.classify("c2", "B");
  log.classify("c2", "C");  // B once, not any more
  log.campaign("k1", "B", "Hello", "Body");
  log.classify("c4", "B");  // too late for k1
  log.campaign("k2", "B", "Again", "Body");
  log.campaign("k3", "A", "Nobody", "Body");
  auto changed = log.apply_to(m);
  EXPECT_EQ(changed, (std::vector<std::string>{"k1", "k2", "k3"}));
  EXPECT_EQ(ok(m, "get", {{"id", "k1"}}), (json{{"id", "k1"},
                                                {"segment", "B"},
                                                {"subject", "Hello"},
                                                {"recipients", 2},
                                                {"recipient_ids", {"c1", "c3"}},
                                                {"sent", 0},
                                                {"failed", 0},
                                                {"failed_ids", json::array()},
                                                {"error", nullptr}}));
  EXPECT_EQ(ok(m, "get", {{"id", "k2"}})["recipient_ids"], json::array({"c1", "c3", "c4"}));
  EXPECT_EQ(ok(m, "get", {{"id", "k3"}})["recipients"], 0);
}

TEST(ModelsEmailCampaigns, AddressesThatWouldBreakHeadersFailAtOnce) {
  auto m = make();
  event_log log;
  log.customer("c1", "Ann", "a@x.org\r\nBcc: victim@y.org");
  log.customer("c2", "Bob", "no-at-sign");
  log.customer("c3", "Cy", "c@x.org");
  for (const char* c : {"c1", "c2", "c3"}) log.classify(c, "A");
  log.campaign("k", "A", "S", "B");
  log.apply_to(m);
  json k = ok(m, "get", {{"id", "k"}});
  EXPECT_EQ(k["recipients"], 3);
  EXPECT_EQ(k["failed"], 2);
  EXPECT_EQ(k["failed_ids"], json::array({"c1", "c2"}));
}

TEST(ModelsEmailCampaigns, Errors) {
  auto m = make();
  event_log log;
  log.add("EMAIL_CAMPAIGN_STARTED", "campaign", "bad",
          {{"segment", "D"}, {"subject", "s"}, {"body", "b"}});
  log.apply_to(m);
  EXPECT_EQ(ask(m, "get", {{"id", "bad"}}).code, errc::not_found);
  EXPECT_EQ(ask(m, "get").code, errc::bad_request);
  EXPECT_EQ(ask(m, "list").code, errc::unknown_query);
  model_config cfg;  // a saga needs somewhere to write
  EXPECT_THROW(email_campaigns_model::parse(cfg), std::invalid_argument);
  cfg.settings = {{"saga", false}, {"from", "x\r\ny@z"}};
  EXPECT_THROW(email_campaigns_model::parse(cfg), std::invalid_argument);
}

}  // namespace
}  // namespace rill::readmodels
