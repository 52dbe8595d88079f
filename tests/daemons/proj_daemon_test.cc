// The rill-proj daemon as a child process: start, answer, stop cleanly,
// exit codes, pid file, config file, SIGKILL mid-stream and restart.
#include <thread>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>

#include "tests/readmodels/runtime_test_util.h"

namespace rill::test {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

class ProjDaemon : public ::testing::Test {
 protected:
  std::vector<std::string> argv(std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {RILL_BIN_DIR "/rill-proj", "--data", dir_.path().string()};
    if (std::find(extra.begin(), extra.end(), "--models") == extra.end() &&
        std::find(extra.begin(), extra.end(), "--config") == extra.end())
      a.insert(a.end(), {"--models", "journal_stats"});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::string log() const { return (dir_.path() / "proj.log").string(); }
  std::string endpoint() const {
    return transport::default_model_endpoint(dir_.path(), "journal_stats");
  }
  fs::path pid_path() const { return dir_.path() / "run" / "rill-proj-journal_stats.pid"; }

  // Exit code of a child that exits by itself (-1 if killed by a signal).
  static int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

  temp_dir dir_;
  zmq::context_t ctx_;
};

TEST_F(ProjDaemon, StartsAnswersAndStopsCleanly) {
  test_journal j(dir_.path() / "journal");
  j.append_many(1000, 10);
  child_process p(argv(), log());
  ASSERT_TRUE(wait_applied(ctx_, endpoint(), 1000)) << read_file(log());
  ASSERT_TRUE(fs::exists(pid_path()));
  EXPECT_EQ(std::stoi(read_file(pid_path())), p.pid());
  auto r = query(ctx_, endpoint(), {{"q", "status"}});
  EXPECT_EQ((*r)["result"]["pid"], p.pid());
  // seq, head and events_applied at the top level too (PROTOCOL.md's
  // "answers status with at least seq, head and events_applied").
  EXPECT_EQ((*r)["seq"], 1000) << r->dump();
  EXPECT_EQ((*r)["head"], 1000) << r->dump();
  EXPECT_EQ((*r)["events_applied"], 1000) << r->dump();
  EXPECT_EQ((*r)["head"], (*r)["result"]["head"]);
  EXPECT_EQ((*r)["events_applied"], (*r)["result"]["events_applied"]);
  j.append_many(10, 10, "more");
  ASSERT_TRUE(wait_applied(ctx_, endpoint(), 1010));
  const int status = p.kill(SIGTERM);
  EXPECT_EQ(exit_code(status), 0) << read_file(log());
  EXPECT_FALSE(fs::exists(pid_path()));
  EXPECT_TRUE(
      fs::exists(dir_.path() / "models" / "journal_stats" / "snap-00000000000000001010.rsnap"))
      << "a final snapshot at a clean stop";
  EXPECT_FALSE(fs::exists(dir_.path() / "run" / "model.journal_stats"));
}

// A query's `req` comes back as the client encoded it: a float 1.0 and a
// uint32 kept their forms (they came back as a fixint), in answers, parked
// `after` answers and errors.
TEST_F(ProjDaemon, ReqIsEchoedByteForByte) {
  test_journal j(dir_.path() / "journal");
  j.append_many(10, 10);
  child_process p(argv(), log());
  ASSERT_TRUE(wait_applied(ctx_, endpoint(), 10)) << read_file(log());
  zmq::socket_t s(ctx_, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(endpoint());
  const std::string status = "\xa1q\xa6status";
  for (const std::string& req :
       {std::string("\xcb\x3f\xf0\0\0\0\0\0\0", 9), std::string("\xce\0\0\0\x01", 5)}) {
    for (const std::string& body : {"\x82" + status + "\xa3req" + req,  // answered
                                    "\x84" + status +
                                        "\xa5"
                                        "after\x0b\xaatimeout_ms\xcd\x13\x88\xa3req" +
                                        req,                          // parked
                                    "\x82\xa1q\x07\xa3req" + req}) {  // bad_request
      s.send(zmq::buffer(body), zmq::send_flags::none);
      if (body.find("after") != std::string::npos) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // parked by now, mostly
        j.append_many(1, 10, "later");
      }
      zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
      ASSERT_EQ(zmq::poll(&item, 1, std::chrono::seconds(10)), 1);
      zmq::message_t m;
      ASSERT_TRUE(s.recv(m));
      EXPECT_NE(m.to_string().find("\xa3req" + req), std::string::npos)
          << nlohmann::json::from_msgpack(m.to_string(), true, false).dump();
    }
  }
}

TEST_F(ProjDaemon, UnknownModelExitsWithUsageError) {
  child_process p(argv({"--models", "no_such_model"}), log());
  EXPECT_EQ(exit_code(p.wait(std::chrono::seconds(20))), 2);
  EXPECT_NE(read_file(log()).find("unknown model 'no_such_model'"), std::string::npos)
      << read_file(log());
  EXPECT_FALSE(fs::exists(dir_.path() / "run" / "rill-proj-no_such_model.pid"));
}

TEST_F(ProjDaemon, BadFlagsExitWithUsageError) {
  for (const auto& extra :
       std::vector<std::vector<std::string>>{{"--no-such-flag"},
                                             {"--snapshot-every", "x"},
                                             {"--snapshot-every", "-5"},
                                             {"--snapshot-every", "1.5"},
                                             {"--snapshot-every", "18446744073709551616"},
                                             {"--apply-batch", "0"},
                                             {"--rebuild-threads", "3"},
                                             {"--wake-coalesce-us", "20001"},
                                             {"--max-queued-reply-bytes", "1000"},
                                             {"--model-endpoint", "journal_stats"},
                                             {"--model-endpoint", "other=ipc:///tmp/x"},
                                             {"--source", "somewhere"}}) {
    child_process p(argv(extra), log());
    EXPECT_EQ(exit_code(p.wait(std::chrono::seconds(20))), 2) << extra[0];
  }
  child_process none({RILL_BIN_DIR "/rill-proj", "--data", dir_.path().string()}, log());
  EXPECT_EQ(exit_code(none.wait(std::chrono::seconds(20))), 2) << "no models";
}

TEST_F(ProjDaemon, SecondInstanceIsRefused) {
  child_process first(argv(), log());
  ASSERT_TRUE(wait_applied(ctx_, endpoint(), 0)) << read_file(log());
  child_process second(argv(), log());
  EXPECT_EQ(exit_code(second.wait(std::chrono::seconds(20))), 1);
  EXPECT_NE(read_file(log()).find("already running"), std::string::npos);
  auto r = query(ctx_, endpoint(), {{"q", "ping"}});
  ASSERT_TRUE(r) << "the first one still answers";
  // Another model set that shares a model is refused too: it would take
  // over the first one's endpoint (and delete its socket file on exit).
  child_process overlap(argv({"--models", "customers,journal_stats", "--notify-in", "none"}),
                        log());
  EXPECT_EQ(exit_code(overlap.wait(std::chrono::seconds(20))), 1);
  EXPECT_NE(read_file(log()).find("model journal_stats is hosted by another rill-proj"),
            std::string::npos)
      << read_file(log());
  r = query(ctx_, endpoint(), {{"q", "status"}});
  ASSERT_TRUE(r) << "the first one still answers";
  EXPECT_EQ((*r)["result"]["pid"], first.pid());
}

TEST_F(ProjDaemon, ConfigFileSectionsAndModelSettings) {
  test_journal j(dir_.path() / "journal");
  j.append_many(100, 10);
  const auto cfg = dir_.path() / "rill.json";
  const auto other_ep = "ipc://" + (dir_.path() / "elsewhere").string();
  std::ofstream(cfg) << json{{"sync", "batch"},  // rill-core's: ignored here
                             {"_doc", "comments are ignored"},
                             {"notify_in", "none"},
                             {"models", {{"journal_stats", {{"anything", 1}}}}},
                             {"proj",
                              {{"_doc", "here too"},
                               {"models", {"journal_stats"}},
                               {"snapshot_every", 10},
                               {"model_endpoints", {{"journal_stats", other_ep}}}}}}
                            .dump();
  child_process p(argv({"--config", cfg.string()}), log());
  ASSERT_TRUE(wait_applied(ctx_, other_ep, 100)) << read_file(log());
  ASSERT_TRUE(eventually([&] {
    return fs::exists(dir_.path() / "models" / "journal_stats" / "snap-00000000000000000100.rsnap");
  })) << "snapshot_every from the file";
  EXPECT_EQ(exit_code(p.kill(SIGINT)), 0);

  std::ofstream(cfg, std::ios::trunc) << json{{"proj", {{"bogus_option", 1}}}}.dump();
  child_process bad(argv({"--config", cfg.string()}), log());
  EXPECT_EQ(exit_code(bad.wait(std::chrono::seconds(20))), 2);
  EXPECT_NE(read_file(log()).find("bogus_option"), std::string::npos);

  // A count in the file is a whole number >= 0: -5 does not wrap, 1.5 does
  // not truncate.
  for (const json& bad : {json(-5), json(1.5), json("10")}) {
    std::ofstream(cfg, std::ios::trunc)
        << json{{"proj", {{"models", {"journal_stats"}}, {"snapshot_every", bad}}}}.dump();
    child_process p2(argv({"--config", cfg.string()}), log());
    EXPECT_EQ(exit_code(p2.wait(std::chrono::seconds(20))), 2) << bad.dump();
  }

  // Settings for a misspelt model name are an error, not ignored.
  std::ofstream(cfg, std::ios::trunc) << json{
      {"models", {{"customer_analysys", {{"thresholds", {{"A", 50000}}}}}}},
      {"proj",
       {{"models", {"journal_stats"}}}}}.dump();
  child_process misspelt(argv({"--config", cfg.string()}), log());
  EXPECT_EQ(exit_code(misspelt.wait(std::chrono::seconds(20))), 2);
  EXPECT_NE(read_file(log()).find("models.customer_analysys: there is no read model"),
            std::string::npos)
      << read_file(log());
}

TEST_F(ProjDaemon, HostsTheDomainModelsWithTheDefaultConfig) {
  test_journal j(dir_.path() / "journal");
  j.append_data("customer", "c1", "CUSTOMER_CREATED", 1,
                {{"name", "Ada"}, {"email", "ada@example.com"}, {"country", "UK"}});
  j.append_data("order", "o1", "ORDER_CREATED", 1,
                {{"customer_id", "c1"}, {"amount", 250.0}, {"currency", "EUR"}});
  child_process p(
      {RILL_BIN_DIR "/rill-proj", "--data", dir_.path().string(), "--models", "customers,orders",
       "--config", RILL_SOURCE_DIR "/config/default.json", "--notify-in", "none"},
      log());
  const auto customers = transport::default_model_endpoint(dir_.path(), "customers");
  const auto orders = transport::default_model_endpoint(dir_.path(), "orders");
  ASSERT_TRUE(wait_applied(ctx_, customers, 2)) << read_file(log());
  auto r = query(ctx_, customers, {{"model", "customers"}, {"q", "get"}, {"args", {{"id", "c1"}}}});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["ok"], true) << r->dump();
  EXPECT_EQ((*r)["result"]["name"], "Ada");
  ASSERT_TRUE(wait_applied(ctx_, orders, 2)) << read_file(log());
  r = query(ctx_, orders, {{"q", "get"}, {"args", {{"id", "o1"}}}, {"after", 2}});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["result"]["customer_name"], "Ada") << r->dump();
  EXPECT_TRUE(fs::exists(dir_.path() / "run" / "rill-proj-customers+orders.pid"));
  EXPECT_EQ(exit_code(p.kill(SIGTERM)), 0) << read_file(log());
  EXPECT_TRUE(fs::exists(dir_.path() / "models" / "customers" / "snap-00000000000000000002.rsnap"));
  EXPECT_TRUE(fs::exists(dir_.path() / "models" / "orders" / "snap-00000000000000000002.rsnap"));
}

TEST_F(ProjDaemon, SigkillMidStreamThenRestartConverges) {
  test_journal j(dir_.path() / "journal", 4 << 20);
  j.append_many(5000, 100);
  child_process p(argv({"--snapshot-every", "3000"}), log());
  ASSERT_TRUE(eventually(
      [&] {
        auto r = query(ctx_, endpoint(), {{"q", "status"}}, 1000ms);
        return r && (*r)["result"]["snapshot_seq"] == 5000;
      },
      std::chrono::seconds(30)))
      << read_file(log());
  for (int round = 0; round < 40; ++round) j.append_many(500, 37, "stream");
  p.kill(SIGKILL);  // at whatever point it has reached
  j.append_many(7000, 91, "after");
  EXPECT_TRUE(fs::exists(pid_path())) << "a killed daemon leaves its pid file";
  child_process again(argv({"--snapshot-every", "3000"}), log());
  ASSERT_TRUE(wait_applied(ctx_, endpoint(), j.head(), std::chrono::seconds(60)))
      << read_file(log());
  EXPECT_EQ(digest(ctx_, endpoint()), expected_digest(dir_.path() / "journal"));
  auto r = query(ctx_, endpoint(), {{"q", "status"}});
  EXPECT_LT((*r)["result"]["events_applied"].get<uint64_t>(), j.head())
      << "it restarted from a snapshot, not from seq 1";
  EXPECT_EQ(exit_code(again.kill(SIGTERM)), 0);
}

}  // namespace
}  // namespace rill::test
