// Sagas hosted by the runtime: tick() between batches and on a timer, work
// done while busy(), keys reported by tick() go to the notifier.
#include <gtest/gtest.h>

#include "readmodels/saga.h"
#include "tests/readmodels/runtime_test_util.h"

namespace rill::test {
namespace {

// Records one unit of work per event; tick() does at most 3 units.
class work_saga final : public readmodels::saga {
 public:
  std::string_view name() const override { return "worker"; }
  void apply(const event_view&, readmodels::change_set&) override { ++pending_; }
  void tick(const readmodels::saga_context& ctx, readmodels::change_set& changed) override {
    ++ticks_;
    EXPECT_FALSE(ctx.replaying);
    const uint64_t n = std::min<uint64_t>(pending_, 3);
    pending_ -= n;
    done_ += n;
    if (n > 0) changed.add("done");
  }
  bool busy() const override { return pending_ > 0; }
  uint64_t pending() const override { return pending_; }
  errc query(std::string_view, const msgpack::object&, readmodels::packer& pk,
             std::string&) const override {
    pk.pack_map(3);
    pk.pack("pending");
    pk.pack_uint64(pending_);
    pk.pack("done");
    pk.pack_uint64(done_);
    pk.pack("ticks");
    pk.pack_uint64(ticks_);
    return errc::ok;
  }
  void save(out_buffer& out) const override {
    readmodels::packer pk(out);
    pk.pack_array(2);
    pk.pack_uint64(pending_);
    pk.pack_uint64(done_);
  }
  bool load(std::span<const char> b, std::string& e) override {
    try {
      auto oh = msgpack::unpack(b.data(), b.size());
      auto v = oh->as<std::vector<uint64_t>>();
      if (v.size() != 2) return false;
      pending_ = v[0];
      done_ = v[1];
      return true;
    } catch (const std::exception& ex) {
      e = ex.what();
      return false;
    }
  }
  std::unique_ptr<readmodels::read_model> clone_empty() const override {
    return std::make_unique<work_saga>();
  }

 private:
  uint64_t pending_ = 0, done_ = 0, ticks_ = 0;
};

std::vector<std::unique_ptr<readmodels::read_model>> saga_model() {
  std::vector<std::unique_ptr<readmodels::read_model>> v;
  v.push_back(std::make_unique<work_saga>());
  return v;
}

TEST(RuntimeSaga, BusySagaIsTickedUntilItsWorkIsDone) {
  temp_dir dir;
  zmq::context_t ctx;
  const std::string notify = "ipc://" + (dir.path() / "notify-in").string();
  zmq::socket_t pull(ctx, zmq::socket_type::pull);
  pull.set(zmq::sockopt::linger, 0);
  pull.bind(notify);
  test_journal j(dir.path() / "journal");
  j.append_many(100, 10);
  auto opt = test_options(dir.path());
  opt.notify_in_endpoint = notify;
  running_runtime rt(opt, saga_model());
  const auto ep = rt.endpoint("worker");
  ASSERT_TRUE(eventually([&] {
    auto r = query(ctx, ep, {{"q", "state"}});
    return r && (*r)["result"]["done"] == 100 && (*r)["result"]["pending"] == 0;
  }));
  // tick() reported "done"; it reached the notifier.
  bool saw_done = false;
  for (int i = 0; i < 100 && !saw_done; ++i) {
    zmq::pollitem_t item{pull.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(1000)) <= 0) break;
    zmq::message_t m;
    (void)pull.recv(m);
    const json rep = json::from_msgpack(static_cast<const uint8_t*>(m.data()),
                                        static_cast<const uint8_t*>(m.data()) + m.size());
    saw_done = rep["keys"] == json::array({"done"}) && rep["model"] == "worker";
  }
  EXPECT_TRUE(saw_done);
  auto s = query(ctx, ep, {{"q", "status"}});
  EXPECT_EQ((*s)["result"]["saga"], true);
  EXPECT_EQ((*s)["result"]["saga_pending"], 0);
}

// A tick that did work is followed by the next one at once, not by a sleep
// until the next thing due: 6,000 units at 3 a tick take 2,000 ticks, which
// one per tick interval (10 s here) or per journal tail check (5-100 ms)
// would take 10 s to hours to do.
TEST(RuntimeSaga, ASagaThatDidWorkIsTickedAgainAtOnce) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(6000, 10);
  auto opt = test_options(dir.path());
  opt.saga_tick_interval = std::chrono::seconds(10);
  running_runtime rt(opt, saga_model());
  const auto ep = rt.endpoint("worker");
  json st;
  EXPECT_TRUE(eventually(
      [&] {
        auto r = query(ctx, ep, {{"q", "state"}});
        if (r) st = (*r)["result"];
        return r && st["done"] == 6000;
      },
      std::chrono::seconds(8)))
      << st.dump();
}

TEST(RuntimeSaga, IdleSagaIsTickedOnATimer) {
  temp_dir dir;
  zmq::context_t ctx;
  auto opt = test_options(dir.path());
  opt.saga_tick_interval = std::chrono::milliseconds(5);
  running_runtime rt(opt, saga_model());
  const auto ep = rt.endpoint("worker");
  auto ticks = [&] {
    auto r = query(ctx, ep, {{"q", "state"}});
    return r ? (*r)["result"]["ticks"].get<uint64_t>() : 0;
  };
  const uint64_t first = ticks();
  std::this_thread::sleep_for(200ms);
  EXPECT_GE(ticks(), first + 10) << "about one tick per 5 ms while idle";
}

TEST(RuntimeSaga, SagaProgressIsSnapshotted) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(30, 3);
  auto opt = test_options(dir.path());
  {
    running_runtime rt(opt, saga_model());
    const auto ep = rt.endpoint("worker");
    ASSERT_TRUE(eventually([&] {
      auto r = query(ctx, ep, {{"q", "state"}});
      return r && (*r)["result"]["done"] == 30;
    }));
  }  // clean stop: the final snapshot holds done = 30
  running_runtime rt(opt, saga_model());
  auto r = query(ctx, rt.endpoint("worker"), {{"q", "state"}});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["result"]["done"], 30);
  EXPECT_EQ((*r)["result"]["pending"], 0) << "no work is done twice after a restart";
}

// Records the seq applied when it is first ticked.
class first_tick_saga final : public readmodels::saga {
 public:
  std::string_view name() const override { return "first_tick"; }
  void apply(const event_view& e, readmodels::change_set&) override { seq_ = e.seq; }
  void tick(const readmodels::saga_context&, readmodels::change_set&) override {
    if (first_ == 0) first_ = seq_ == 0 ? UINT64_MAX : seq_;
  }
  bool busy() const override { return false; }
  errc query(std::string_view, const msgpack::object&, readmodels::packer& pk,
             std::string&) const override {
    pk.pack_uint64(first_ == UINT64_MAX ? 0 : first_);
    return errc::ok;
  }
  void save(out_buffer&) const override {}
  bool load(std::span<const char>, std::string&) override { return false; }
  std::unique_ptr<readmodels::read_model> clone_empty() const override {
    return std::make_unique<first_tick_saga>();
  }

 private:
  uint64_t seq_ = 0, first_ = 0;
};

// A saga started without a snapshot (or behind its snapshot) is not ticked
// while the runtime catches up: ticked between catch-up batches, the
// classification saga sent ratings the live one never sent (an
// intermediate rating inside one live batch), which set customers back for
// good, and the exchange-rate saga re-sent thousands of rate commands (an
// outside probe). It is ticked once it has applied the head it started at.
TEST(RuntimeSaga, ASagaIsNotTickedWhileTheRuntimeCatchesUp) {
  temp_dir dir;
  zmq::context_t ctx;
  test_journal j(dir.path() / "journal");
  j.append_many(200, 10);
  auto opt = test_options(dir.path());
  opt.apply_batch = 1;  // one event per loop turn: a tick could come after each
  opt.saga_tick_interval = std::chrono::milliseconds(1);
  std::vector<std::unique_ptr<readmodels::read_model>> v;
  v.push_back(std::make_unique<first_tick_saga>());
  running_runtime rt(opt, std::move(v));
  const auto ep = rt.endpoint("first_tick");
  uint64_t first = 0;
  ASSERT_TRUE(eventually([&] {
    auto r = query(ctx, ep, {{"q", "first"}});
    first = r ? (*r)["result"].get<uint64_t>() : 0;
    return first != 0;
  }));
  EXPECT_EQ(first, 200u) << "the first tick came at seq " << first;
}

}  // namespace
}  // namespace rill::test
