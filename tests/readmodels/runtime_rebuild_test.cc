// Rebuild from seq 1 on a background thread while the old state keeps
// answering, hand-over and swap; hosting several models; fatal model errors.
#include <gtest/gtest.h>

#include <atomic>

#include "tests/readmodels/runtime_test_util.h"

namespace rill::test {
namespace {

using readmodels::read_model;

// journal_stats whose rebuilt instances (made by clone_empty()) wait at a
// gate before applying each event, so a test can watch a rebuild in flight.
class gated_stats final : public read_model {
 public:
  gated_stats(std::shared_ptr<std::atomic<bool>> gate, bool gated)
      : gate_(std::move(gate)), gated_(gated) {}
  std::string_view name() const override { return "journal_stats"; }
  void apply(const event_view& e, readmodels::change_set& c) override {
    while (gated_ && !gate_->load()) std::this_thread::sleep_for(1ms);
    inner_.apply(e, c);
  }
  errc query(std::string_view q, const msgpack::object& args, readmodels::packer& pk,
             std::string& msg) const override {
    if (q == "instance") {
      pk.pack(gated_ ? "rebuilt" : "original");
      return errc::ok;
    }
    return inner_.query(q, args, pk, msg);
  }
  void save(out_buffer& out) const override { inner_.save(out); }
  bool load(std::span<const char> b, std::string& e) override { return inner_.load(b, e); }
  std::unique_ptr<read_model> clone_empty() const override {
    return std::make_unique<gated_stats>(gate_, true);
  }

 private:
  std::shared_ptr<std::atomic<bool>> gate_;
  bool gated_;
  readmodels::journal_stats inner_;
};

// Throws on the event of aggregate "boom".
class throwing_model final : public read_model {
 public:
  std::string_view name() const override { return "thrower"; }
  void apply(const event_view& e, readmodels::change_set&) override {
    if (e.id == "boom") throw std::runtime_error("boom");
  }
  errc query(std::string_view, const msgpack::object&, readmodels::packer& pk,
             std::string&) const override {
    pk.pack_nil();
    return errc::ok;
  }
  void save(out_buffer&) const override {}
  bool load(std::span<const char>, std::string&) override { return true; }
  std::unique_ptr<read_model> clone_empty() const override {
    return std::make_unique<throwing_model>();
  }
};

TEST(RuntimeRebuild, OldStateAnswersUntilTheRebuiltOneTakesOver) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(2000, 20);
  auto gate = std::make_shared<std::atomic<bool>>(false);
  std::vector<std::unique_ptr<read_model>> models;
  models.push_back(std::make_unique<gated_stats>(gate, false));
  running_runtime rt(test_options(dir.path()), std::move(models));
  const auto ep = rt.endpoint("journal_stats");
  ASSERT_TRUE(wait_applied(ctx, ep, 2000));

  auto r = query(ctx, ep, {{"q", "rebuild"}});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["result"]["started"], true);
  r = query(ctx, ep, {{"q", "rebuild"}});
  EXPECT_EQ((*r)["result"]["started"], false) << "one rebuild at a time";

  // While the rebuild waits at the gate, the live state answers and follows.
  r = query(ctx, ep, {{"q", "status"}});
  EXPECT_EQ((*r)["result"]["rebuilding"], true);
  EXPECT_TRUE((*r)["result"]["rebuild_progress"].is_object());
  j.append_many(500, 5, "during");
  ASSERT_TRUE(wait_applied(ctx, ep, 2500));
  r = query(ctx, ep, {{"q", "instance"}});
  EXPECT_EQ((*r)["result"], "original");
  r = query(ctx, ep, {{"q", "totals"}});
  EXPECT_EQ((*r)["result"]["events"], 2500);

  gate->store(true);
  ASSERT_TRUE(eventually([&] {
    auto s = query(ctx, ep, {{"q", "status"}});
    return s && (*s)["result"]["rebuilding"] == false && (*s)["result"]["rebuilds"] == 1;
  }));
  r = query(ctx, ep, {{"q", "instance"}});
  EXPECT_EQ((*r)["result"], "rebuilt");
  EXPECT_EQ(digest(ctx, ep), expected_digest(dir.path() / "journal"));
  // It goes on applying after the swap.
  j.append_many(10, 10, "after");
  ASSERT_TRUE(wait_applied(ctx, ep, 2510));
  EXPECT_EQ(digest(ctx, ep), expected_digest(dir.path() / "journal"));
}

// Waits (up to 60 s) until the model's first rebuild has taken over.
bool first_rebuild_done(zmq::context_t& ctx, const std::string& ep) {
  return eventually(
      [&] {
        auto s = query(ctx, ep, {{"q", "status"}});
        return s && (*s)["result"]["rebuilds"] == 1 && (*s)["result"]["rebuilding"] == false;
      },
      60s);
}

// Once with rebuild_threads 1 (apply_ahead) and once with 2 (split_apply),
// across segment boundaries (8 MiB segments).
class RuntimeRebuildThreads : public ::testing::TestWithParam<unsigned> {};

TEST_P(RuntimeRebuildThreads, RebuildOfALargeJournalWhileAppending) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal", 8 << 20);
  j.append_many(200000, 1000);
  auto opt = test_options(dir.path());
  opt.rebuild_threads = GetParam();
  running_runtime rt(opt, stats_model());
  const auto ep = rt.endpoint("journal_stats");
  ASSERT_TRUE(wait_applied(ctx, ep, 200000));
  auto r = query(ctx, ep, {{"q", "rebuild"}});
  ASSERT_EQ((*r)["result"]["started"], true);
  for (int i = 0; i < 20; ++i) j.append_many(100, 7, "live");
  ASSERT_TRUE(first_rebuild_done(ctx, ep));
  ASSERT_TRUE(wait_applied(ctx, ep, 202000));
  EXPECT_EQ(digest(ctx, ep), expected_digest(dir.path() / "journal"));
}
// 20 KiB events in 64 KiB segments: the rebuild decodes up to 64 events
// ahead of the one applied, across many segments, and the reader must keep
// their bodies mapped (reader_options::keep_records).
TEST_P(RuntimeRebuildThreads, RebuildOfLargeEventsInSmallSegments) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal", 64 << 10);
  for (int i = 0; i < 150; ++i)
    j.append_data("thing", "big" + std::to_string(i), "THING_CREATED", 1,
                  {{"blob", std::string(20'000 + i, static_cast<char>('a' + i % 26))}});
  auto opt = test_options(dir.path());
  opt.rebuild_threads = GetParam();
  running_runtime rt(opt, stats_model());
  const auto ep = rt.endpoint("journal_stats");
  ASSERT_TRUE(wait_applied(ctx, ep, 150));
  auto r = query(ctx, ep, {{"q", "rebuild"}});
  ASSERT_EQ((*r)["result"]["started"], true);
  ASSERT_TRUE(first_rebuild_done(ctx, ep));
  EXPECT_EQ(digest(ctx, ep), expected_digest(dir.path() / "journal"));
}

INSTANTIATE_TEST_SUITE_P(Threads, RuntimeRebuildThreads, ::testing::Values(1u, 2u));

// A second model, to host two in one runtime. With `kinds`, it says it reads
// only those, yet counts every apply() call: the count shows which events
// the runtime passed over undecoded.
class counter_model final : public read_model {
 public:
  counter_model() = default;
  explicit counter_model(std::vector<readmodels::event_kind> kinds) : kinds_(std::move(kinds)) {}
  std::string_view name() const override { return "counter"; }
  std::span<const readmodels::event_kind> reads() const override { return kinds_; }
  void apply(const event_view&, readmodels::change_set& c) override {
    ++n_;
    c.add("all");
  }
  errc query(std::string_view q, const msgpack::object&, readmodels::packer& pk,
             std::string& msg) const override {
    if (q != "count") {
      msg = "count only";
      return errc::unknown_query;
    }
    pk.pack_uint64(n_);
    return errc::ok;
  }
  void save(out_buffer& out) const override {
    readmodels::packer pk(out);
    pk.pack_uint64(n_);
  }
  bool load(std::span<const char> b, std::string& e) override {
    try {
      n_ = msgpack::unpack(b.data(), b.size())->as<uint64_t>();
      return true;
    } catch (const std::exception& ex) {
      e = ex.what();
      return false;
    }
  }
  std::unique_ptr<read_model> clone_empty() const override {
    return std::make_unique<counter_model>(kinds_);
  }

 private:
  std::vector<readmodels::event_kind> kinds_;
  uint64_t n_ = 0;
};

TEST(RuntimeRebuild, KindsNoHostedModelReadsArePassedOverInCatchUpLiveAndRebuild) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(300, 3);  // every third is THING_CREATED
  const std::vector<readmodels::event_kind> created = {{"thing", "THING_CREATED"}};
  auto count = [&](const std::string& ep) {
    auto r = query(ctx, ep, {{"q", "count"}});
    return r ? (*r)["result"].get<uint64_t>() : 0;
  };
  {
    std::vector<std::unique_ptr<read_model>> models;
    models.push_back(std::make_unique<counter_model>(created));
    running_runtime rt(test_options(dir.path()), std::move(models));
    const auto ep = rt.endpoint("counter");
    ASSERT_TRUE(wait_applied(ctx, ep, 300));
    EXPECT_EQ(count(ep), 100u);  // catch-up
    const json s = status(ctx, ep);
    EXPECT_EQ(s["events_applied"], 300) << "passed-over events count as applied";
    EXPECT_EQ(s["events_skipped"], 0) << "and are not undecodable";
    j.append_many(30, 3);  // live: 10 more THING_CREATED
    ASSERT_TRUE(wait_applied(ctx, ep, 330));
    EXPECT_EQ(count(ep), 110u);
    EXPECT_EQ(status(ctx, ep)["lag"], 0);
    auto r = query(ctx, ep, {{"q", "rebuild"}});
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["result"]["started"], true);
    ASSERT_TRUE(eventually([&] {
      auto st = query(ctx, ep, {{"q", "status"}});
      return st && (*st)["result"]["rebuilds"] == 1 && (*st)["result"]["rebuilding"] == false;
    }));
    EXPECT_EQ(count(ep), 110u);  // the rebuilt instance passed over them too
  }
  // Hosted with a model that reads everything, every event is decoded and
  // applied to both (from seq 1: no snapshot of the first run).
  std::filesystem::remove_all(dir.path() / "models");
  std::vector<std::unique_ptr<read_model>> models;
  models.push_back(std::make_unique<readmodels::journal_stats>());
  models.push_back(std::make_unique<counter_model>(created));
  running_runtime rt(test_options(dir.path()), std::move(models));
  ASSERT_TRUE(wait_applied(ctx, rt.endpoint("counter"), 330));
  EXPECT_EQ(count(rt.endpoint("counter")), 330u);
}

TEST(RuntimeRebuild, TwoModelsInOneProcessEachOnItsEndpoint) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(300, 3);
  std::vector<std::unique_ptr<read_model>> models;
  models.push_back(std::make_unique<readmodels::journal_stats>());
  models.push_back(std::make_unique<counter_model>());
  auto opt = test_options(dir.path());
  {
    running_runtime rt(opt, std::move(models));
    const auto a = rt.endpoint("journal_stats"), b = rt.endpoint("counter");
    EXPECT_NE(a, b);
    ASSERT_TRUE(wait_applied(ctx, a, 300));
    auto r = query(ctx, b, {{"q", "count"}});
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["result"], 300);
    r = query(ctx, b, {{"model", "journal_stats"}, {"q", "totals"}});
    EXPECT_EQ((*r)["error"], "unknown_model");
    r = query(ctx, b, {{"model", "counter"}, {"q", "count"}});
    EXPECT_EQ((*r)["ok"], true);
  }
  // Restart: both load their snapshots; the counter model from its own.
  j.append_many(30, 3);
  models.clear();
  models.push_back(std::make_unique<readmodels::journal_stats>());
  models.push_back(std::make_unique<counter_model>());
  running_runtime rt(opt, std::move(models));
  ASSERT_TRUE(wait_applied(ctx, rt.endpoint("counter"), 330));
  auto r = query(ctx, rt.endpoint("counter"), {{"q", "status"}});
  EXPECT_EQ((*r)["result"]["events_applied"], 30);
  r = query(ctx, rt.endpoint("counter"), {{"q", "count"}});
  EXPECT_EQ((*r)["result"], 330);
}

TEST(RuntimeRebuild, AModelThatThrowsStopsTheRuntime) {
  temp_dir dir;
  test_journal j(dir.path() / "journal");
  j.append("thing", "fine");
  j.append("thing", "boom");
  std::vector<std::unique_ptr<read_model>> models;
  models.push_back(std::make_unique<throwing_model>());
  readmodels::runtime rt(test_options(dir.path()), std::move(models));
  EXPECT_EQ(rt.run(), 1);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "models" / "thrower" /
                                       "snap-00000000000000000001.rsnap"))
      << "no final snapshot of a state that threw";
}

TEST(RuntimeRebuild, InvalidModelSetsAreRefused) {
  temp_dir dir;
  std::vector<std::unique_ptr<read_model>> none;
  EXPECT_THROW(readmodels::runtime(test_options(dir.path()), std::move(none)),
               std::invalid_argument);
  std::vector<std::unique_ptr<read_model>> twice;
  twice.push_back(std::make_unique<readmodels::journal_stats>());
  twice.push_back(std::make_unique<readmodels::journal_stats>());
  EXPECT_THROW(readmodels::runtime(test_options(dir.path()), std::move(twice)),
               std::invalid_argument);
  auto opt = test_options(dir.path());
  opt.apply_batch = 0;
  EXPECT_THROW(readmodels::runtime(opt, stats_model()), std::invalid_argument);
}

}  // namespace
}  // namespace rill::test
