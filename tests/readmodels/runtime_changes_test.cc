// Change reports: {"model", "keys", "seq"} pushed to notify-in after batches.
#include <gtest/gtest.h>

#include <set>

#include "tests/readmodels/runtime_test_util.h"

namespace rill::test {
namespace {

class pull_socket {
 public:
  pull_socket(zmq::context_t& ctx, const std::string& ep) : s_(ctx, zmq::socket_type::pull) {
    s_.set(zmq::sockopt::linger, 0);
    s_.bind(ep);
  }
  std::optional<json> next(std::chrono::milliseconds timeout = 5000ms) {
    zmq::pollitem_t item{s_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) <= 0) return std::nullopt;
    zmq::message_t m;
    if (!s_.recv(m)) return std::nullopt;
    return json::from_msgpack(static_cast<const uint8_t*>(m.data()),
                              static_cast<const uint8_t*>(m.data()) + m.size(), true, false);
  }

 private:
  zmq::socket_t s_;
};

TEST(RuntimeChanges, ReportsCarryTheChangedKeysAndSeq) {
  temp_dir dir;
  zmq::context_t ctx;
  const std::string ep = "ipc://" + (dir.path() / "notify-in").string();
  pull_socket pull(ctx, ep);
  test_journal j(dir.path() / "journal");
  j.append_many(10, 2);
  auto opt = test_options(dir.path());
  opt.notify_in_endpoint = ep;
  running_runtime rt(opt, stats_model());
  // The initial catch-up is reported as a whole-model change.
  auto r = pull.next();
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["model"], "journal_stats");
  EXPECT_EQ((*r)["keys"], json::array());
  EXPECT_EQ((*r)["all"], true);
  EXPECT_EQ((*r)["seq"], 10);

  const uint64_t seq = j.append("customer", "c7");
  std::optional<json> rep;
  for (int i = 0; i < 10 && (rep = pull.next()); ++i)
    if ((*rep)["seq"] == seq) break;
  ASSERT_TRUE(rep);
  EXPECT_EQ((*rep)["model"], "journal_stats");
  EXPECT_EQ((*rep)["keys"], json::array({"customer/c7"}));
  EXPECT_EQ((*rep)["seq"], seq);
  EXPECT_EQ((*rep)["seqs"], json::array({seq}));
  EXPECT_FALSE(rep->contains("all"));
}

TEST(RuntimeChanges, KeysAreDeduplicatedAndCapped) {
  temp_dir dir;
  zmq::context_t ctx;
  const std::string ep = "ipc://" + (dir.path() / "notify-in").string();
  pull_socket pull(ctx, ep);
  test_journal j(dir.path() / "journal");
  auto opt = test_options(dir.path());
  opt.notify_in_endpoint = ep;
  opt.max_report_keys = 5;
  running_runtime rt(opt, stats_model());
  const auto qep = rt.endpoint("journal_stats");
  ASSERT_TRUE(query(ctx, qep, {{"q", "ping"}}));
  // Many events on 3 keys: every report holds a subset of those 3, no dups.
  j.append_many(300, 3, "few", 300);
  std::set<std::string> keys;
  uint64_t last = 0;
  while (last < 300) {
    auto r = pull.next();
    ASSERT_TRUE(r);
    if (r->value("all", false)) {
      last = (*r)["seq"];
      continue;
    }
    std::set<std::string> mine;
    ASSERT_EQ((*r)["seqs"].size(), (*r)["keys"].size()) << r->dump();
    for (const auto& s : (*r)["seqs"]) EXPECT_LE(s.get<uint64_t>(), (*r)["seq"].get<uint64_t>());
    for (const auto& k : (*r)["keys"]) {
      EXPECT_TRUE(mine.insert(k.get<std::string>()).second) << "duplicate key " << k;
      keys.insert(k.get<std::string>());
    }
    EXPECT_LE(mine.size(), 3u);
    last = (*r)["seq"];
  }
  // 50 distinct keys in one publish group: more than max_report_keys -> whole model.
  const uint64_t head = j.append_many(50, 50, "many", 50);
  bool saw_all = false;
  while (last < head) {
    auto r = pull.next();
    ASSERT_TRUE(r);
    last = (*r)["seq"];
    if (r->value("all", false)) {
      saw_all = true;
      EXPECT_EQ((*r)["keys"], json::array());
    } else {
      EXPECT_LE((*r)["keys"].size(), 5u);
    }
  }
  EXPECT_TRUE(saw_all);
}

TEST(RuntimeChanges, ADownNotifierNeverBlocksTheProjector) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  auto opt = test_options(dir.path());
  opt.notify_in_endpoint = "ipc://" + (dir.path() / "nobody-listens").string();
  opt.report_hwm = 2;
  running_runtime rt(opt, stats_model());
  const auto ep = rt.endpoint("journal_stats");
  for (int i = 0; i < 50; ++i) {
    const uint64_t seq = j.append("k", "id" + std::to_string(i));
    ASSERT_TRUE(wait_applied(ctx, ep, seq));
  }
  auto r = query(ctx, ep, {{"q", "status"}});
  EXPECT_GT((*r)["result"]["reports"]["dropped"].get<uint64_t>(), 0u);
}

}  // namespace
}  // namespace rill::test
