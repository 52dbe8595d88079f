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

}  // namespace
}  // namespace rill::test
