// The email campaign saga: one RFC 5322 file per recipient, written once.
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "readmodels/models/email_campaigns_model.h"
#include "tests/readmodels/models_events.h"
#include "tests/readmodels/saga_fakes.h"

namespace rill::readmodels {
namespace {

using namespace testing;
namespace fs = std::filesystem;

std::unique_ptr<email_campaigns_model> make(const temp_dir& dir, json settings = json::object()) {
  settings["retry_initial_ms"] = 10;
  settings["retry_max_ms"] = 50;
  return std::make_unique<email_campaigns_model>(
      email_campaigns_model::parse(config_in(dir, std::move(settings))));
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every file under root, relative to it.
std::set<std::string> tree(const fs::path& root) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    out.insert(fs::relative(e.path(), root).string() + (e.is_directory() ? "/" : ""));
  return out;
}

void script(event_log& log) {
  log.customer("c1", "Ann", "ann@example.com");
  log.customer("../x", "Eve", "eve@example.com");
  log.customer("c/3", "Cy", "cy@example.com");
  log.customer("c4", "Di", "di@example.com");
  for (const char* c : {"c1", "../x", "c/3"}) log.classify(c, "B");
  log.classify("c4", "A");
  log.campaign("k/1", "B", "Spring news", "Dear customer,\nhello.\n");
}

TEST(SagaEmail, WritesOneSafeRfc5322FilePerRecipient) {
  temp_dir dir;
  auto m = make(dir);
  event_log log;
  script(log);
  log.apply_to(*m);
  change_set changed;
  ASSERT_TRUE(run_until(
      *m, [&] { return !m->busy(); }, [] {}, &changed));
  json k = ok(*m, "get", {{"id", "k/1"}});
  EXPECT_EQ(k["recipients"], 3);
  EXPECT_EQ(k["sent"], 3);
  EXPECT_EQ(k["error"], nullptr);
  EXPECT_EQ(m->pending(), 0u);
  EXPECT_NE(std::find(changed.keys().begin(), changed.keys().end(), "k/1"), changed.keys().end());

  const fs::path outbox = dir.path() / "outbox";
  EXPECT_EQ(tree(outbox), (std::set<std::string>{"k%2F1/", "k%2F1/c1.eml", "k%2F1/%2E.%2Fx.eml",
                                                 "k%2F1/c%2F3.eml"}));
  struct stat st {};
  ASSERT_EQ(::stat((outbox / "k%2F1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((outbox / "k%2F1" / "c1.eml").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const std::string text = read(outbox / "k%2F1" / "c%2F3.eml");
  EXPECT_EQ(text.rfind("From: rill@localhost\r\nTo: cy@example.com\r\nSubject: Spring news\r\n"
                       "Date: ",
                       0),
            0u)
      << text;
  EXPECT_NE(text.find("\r\nMessage-ID: <k=2F1.c=2F3@rill>\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"),
            std::string::npos);
  EXPECT_NE(text.find("\r\n\r\nDear customer,\r\nhello.\r\n"), std::string::npos);
  EXPECT_EQ(text.find(".tmp"), std::string::npos);
}

TEST(SagaEmail, AnExistingFileCountsAsSentAndIsNeverRewritten) {
  temp_dir dir;
  const fs::path campaign_dir = dir.path() / "outbox" / "k%2F1";
  fs::create_directories(campaign_dir);
  { std::ofstream(campaign_dir / "c1.eml") << "ORIGINAL"; }
  auto m = make(dir, {{"from", "news@shop.example"}});
  event_log log;
  script(log);
  log.apply_to(*m);
  ASSERT_TRUE(run_until(
      *m, [&] { return !m->busy(); }, [] {}));
  EXPECT_EQ(read(campaign_dir / "c1.eml"), "ORIGINAL");
  EXPECT_EQ(ok(*m, "get", {{"id", "k/1"}})["sent"], 3);
  EXPECT_EQ(read(campaign_dir / "c%2F3.eml").rfind("From: news@shop.example\r\n", 0), 0u);

  // A rebuild from seq 1 (a new instance, same events) finds every file:
  // all sent, nothing rewritten.
  const std::string before = read(campaign_dir / "c%2F3.eml");
  fs::remove(campaign_dir / "c%2F3.eml");
  { std::ofstream(campaign_dir / "c%2F3.eml") << before << "marker"; }
  auto rebuilt = m->clone_empty();
  log.apply_to(*rebuilt);
  ASSERT_NE(rebuilt->as_saga(), nullptr);
  ASSERT_TRUE(run_until(
      *rebuilt->as_saga(), [&] { return !rebuilt->as_saga()->busy(); }, [] {}));
  EXPECT_EQ(ok(*rebuilt, "get", {{"id", "k/1"}})["sent"], 3);
  EXPECT_EQ(read(campaign_dir / "c%2F3.eml"), before + "marker");
  EXPECT_EQ(read(campaign_dir / "c1.eml"), "ORIGINAL");
}

TEST(SagaEmail, IoErrorsAreRetriedUntilTheyGoAway) {
  temp_dir dir;
  const fs::path blocked = dir.path() / "blocked";
  { std::ofstream(blocked) << "a file where the outbox should be"; }
  auto m = make(dir, {{"outbox_dir", blocked.string()}});
  event_log log;
  script(log);
  log.apply_to(*m);
  change_set ch;
  ASSERT_TRUE(run_until(
      *m,
      [&] {
        return !ok(*m, "get", {{"id", "k/1"}})["error"].is_null();
      },
      [] {}));
  EXPECT_EQ(ok(*m, "get", {{"id", "k/1"}})["sent"], 0);
  EXPECT_TRUE(m->busy());
  EXPECT_GE(m->pending(), 3u) << "k/1's three recipients at least";
  // Progress is in the snapshot; after a restart the work resumes.
  const std::string bytes = saved(*m);
  fs::remove(blocked);
  auto restarted = make(dir, {{"outbox_dir", blocked.string()}});
  std::string error;
  ASSERT_TRUE(restarted->load({bytes.data(), bytes.size()}, error)) << error;
  ASSERT_TRUE(run_until(
      *restarted, [&] { return !restarted->busy(); }, [] {}));
  json k = ok(*restarted, "get", {{"id", "k/1"}});
  EXPECT_EQ(k["sent"], 3);
  EXPECT_EQ(k["error"], nullptr);
  EXPECT_EQ(restarted->pending(), 0u);
  EXPECT_EQ(tree(blocked).size(), 4u);
}

TEST(SagaEmail, NothingIsWrittenWhileReplaying) {
  temp_dir dir;
  auto m = make(dir);
  event_log log;
  script(log);
  log.apply_to(*m);
  change_set ch;
  for (int i = 0; i < 10; ++i) m->tick(saga_context{std::chrono::steady_clock::now(), true}, ch);
  EXPECT_FALSE(fs::exists(dir.path() / "outbox"));
  EXPECT_TRUE(m->busy());
}

}  // namespace
}  // namespace rill::readmodels
