// The query protocol of a hosted model, through real sockets: REQ and DEALER
// envelopes, every error code, `after` parking, pipelining, built-ins.
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "tests/readmodels/runtime_test_util.h"

namespace rill::test {
namespace {

std::string mp(const json& j) {
  const auto v = json::to_msgpack(j);
  return {v.begin(), v.end()};
}

json from_mp(const zmq::message_t& m) {
  return json::from_msgpack(static_cast<const uint8_t*>(m.data()),
                            static_cast<const uint8_t*>(m.data()) + m.size(), true, false);
}

class RuntimeQueries : public ::testing::Test {
 protected:
  void SetUp() override {
    journal_ = std::make_unique<test_journal>(dir_.path() / "journal");
    journal_->append_many(1000, 10);
    rt_ = std::make_unique<running_runtime>(test_options(dir_.path()), stats_model());
    ep_ = rt_->endpoint("journal_stats");
    ASSERT_TRUE(wait_applied(ctx_, ep_, 1000));
  }

  // Sends raw frames on a DEALER and returns the reply's frames.
  std::vector<zmq::message_t> raw(const std::vector<std::string>& frames) {
    zmq::socket_t s(ctx_, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.connect(ep_);
    for (size_t i = 0; i < frames.size(); ++i)
      s.send(zmq::buffer(frames[i]),
             i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    std::vector<zmq::message_t> reply;
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(5000)) <= 0) return reply;
    for (;;) {
      zmq::message_t m;
      (void)s.recv(m);
      const bool more = m.more();
      reply.push_back(std::move(m));
      if (!more) break;
    }
    return reply;
  }

  json error_of(const std::vector<std::string>& frames) {
    auto r = raw(frames);
    if (r.empty()) return "no reply";
    return from_mp(r.back());
  }

  temp_dir dir_;
  zmq::context_t ctx_;
  std::unique_ptr<test_journal> journal_;
  std::unique_ptr<running_runtime> rt_;
  std::string ep_;
};

TEST_F(RuntimeQueries, AnswersOverDealer) {
  auto r = query(ctx_, ep_, {{"model", "journal_stats"}, {"q", "totals"}, {"req", "r1"}});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["ok"], true);
  EXPECT_EQ((*r)["seq"], 1000);
  EXPECT_EQ((*r)["req"], "r1");
  EXPECT_EQ((*r)["result"]["events"], 1000);
  EXPECT_EQ((*r)["result"]["aggregates"], 10);
  r = query(ctx_, ep_, {{"q", "get"}, {"args", {{"agg", "thing"}, {"id", "a3"}}}});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["result"]["events"], 100);
  EXPECT_EQ((*r)["result"]["last_seq"], 994);
}

TEST_F(RuntimeQueries, AnswersOverReq) {
  zmq::socket_t req(ctx_, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.connect(ep_);
  req.send(zmq::buffer(mp({{"q", "ping"}, {"req", 5}})));
  zmq::message_t m;
  zmq::pollitem_t item{req.handle(), 0, ZMQ_POLLIN, 0};
  ASSERT_EQ(zmq::poll(&item, 1, std::chrono::milliseconds(5000)), 1);
  ASSERT_TRUE(req.recv(m));
  EXPECT_FALSE(m.more());
  const json j = from_mp(m);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["result"], "pong");
  EXPECT_EQ(j["req"], 5);
}

TEST_F(RuntimeQueries, DealerWithDelimiterGetsDelimiterBack) {
  auto r = raw({"", mp({{"q", "ping"}})});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].size(), 0u);
  EXPECT_EQ(from_mp(r[1])["ok"], true);
  r = raw({mp({{"q", "ping"}})});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(from_mp(r[0])["ok"], true);
}

TEST_F(RuntimeQueries, EveryErrorCode) {
  auto code = [&](const std::vector<std::string>& frames) {
    auto j = error_of(frames);
    EXPECT_EQ(j["ok"], false) << j.dump();
    EXPECT_TRUE(j["message"].is_string()) << j.dump();
    return j.value("error", std::string("none"));
  };
  EXPECT_EQ(code({"\xc1\xc1"}), "bad_request");      // not msgpack
  EXPECT_EQ(code({mp({1, 2, 3})}), "bad_request");   // not a map
  EXPECT_EQ(code({mp({{"q", 1}})}), "bad_request");  // wrong type
  EXPECT_EQ(code({mp({{"q", "totals"}, {"args", "x"}})}), "bad_request");
  EXPECT_EQ(code({mp({{"q", "totals"}, {"after", -5}})}), "bad_request");
  EXPECT_EQ(code({mp({{"q", "totals"}, {"bogus", 1}})}), "bad_request");  // unknown field
  EXPECT_EQ(code({mp({{"q", "totals"}}), "extra"}), "bad_request");       // extra frame
  EXPECT_EQ(code({"", ""}), "bad_request");                               // empty body
  EXPECT_EQ(code({mp({{"q", "totals"}, {"args", {{"pad", std::string(1 << 20, 'x')}}}})}),
            "too_large");
  EXPECT_EQ(code({mp({{"model", "orders"}, {"q", "totals"}})}), "unknown_model");
  EXPECT_EQ(code({mp({{"q", "no_such_query"}})}), "unknown_query");
  EXPECT_EQ(code({mp({{"q", "get"}, {"args", {{"agg", "thing"}, {"id", "zz"}}}})}), "not_found");
  EXPECT_EQ(code({mp({{"q", "get"}, {"args", {{"agg", 5}}}})}), "bad_request");  // model's check
  EXPECT_EQ(code({mp({{"q", "totals"}, {"after", 999999}, {"timeout_ms", 50}})}), "timeout");
  EXPECT_EQ(code({mp({{"q", "totals"}, {"after", 999999}, {"timeout_ms", 0}})}), "timeout");
  // The built-in queries take no arguments: a typo does not start a rebuild.
  for (const char* q : {"status", "ping", "rebuild"})
    EXPECT_EQ(code({mp({{"q", q}, {"args", {{"x", 1}}}})}), "bad_request") << q;
  EXPECT_EQ(status(ctx_, ep_)["rebuilds"], 0);
  EXPECT_EQ(status(ctx_, ep_)["rebuilding"], false);
  // The daemon is still fine.
  auto r = query(ctx_, ep_, {{"q", "ping"}});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["ok"], true);
}

// Sends `request` from n new DEALERs (added to `parked`) and waits until
// the model shows every socket's query waiting for `after`.
void park(zmq::context_t& ctx, const std::string& ep, std::vector<zmq::socket_t>& parked,
          const std::string& request, int n) {
  for (int i = 0; i < n; ++i) {
    parked.emplace_back(ctx, zmq::socket_type::dealer);
    parked.back().set(zmq::sockopt::linger, 0);
    parked.back().connect(ep);
    parked.back().send(zmq::buffer(request));
  }
  ASSERT_TRUE(eventually([&] {
    auto st = query(ctx, ep, {{"q", "status"}});
    return st && (*st)["result"]["queries"]["waiting"] == parked.size();
  }));
}

// Each socket receives a successful answer.
void expect_answered(std::vector<zmq::socket_t>& parked) {
  for (auto& s : parked) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    ASSERT_EQ(zmq::poll(&item, 1, std::chrono::milliseconds(10000)), 1);
    zmq::message_t m;
    ASSERT_TRUE(s.recv(m));
    EXPECT_EQ(from_mp(m)["ok"], true) << from_mp(m).dump();
  }
}

// Past max_parked_queries a query that must wait for `after` is refused at
// once with overloaded (DESIGN: a full queue answers overloaded); the parked
// ones are still answered.
TEST_F(RuntimeQueries, TooManyWaitingQueriesAreOverloadedAtOnce) {
  rt_.reset();
  auto o = test_options(dir_.path());
  o.max_parked_queries = 2;
  rt_ = std::make_unique<running_runtime>(o, stats_model());
  ep_ = rt_->endpoint("journal_stats");
  ASSERT_TRUE(wait_applied(ctx_, ep_, 1000));
  const auto waiting = mp({{"q", "totals"}, {"after", 1002}, {"timeout_ms", 20000}});
  std::vector<zmq::socket_t> parked;
  park(ctx_, ep_, parked, waiting, 2);
  const auto j = error_of({waiting});
  EXPECT_EQ(j.value("error", ""), "overloaded") << j.dump();
  journal_->append_many(2, 1);
  expect_answered(parked);
}

// The waiting queries' bytes are bounded too: an outside probe parked 1,000
// queries of 1 MiB each and took rill-proj from 0.9 to 1.8 GB (100,000 of
// them would have been 100 GB).
TEST_F(RuntimeQueries, TooManyBytesOfWaitingQueriesAreOverloadedAtOnce) {
  rt_.reset();
  auto o = test_options(dir_.path());
  o.max_parked_query_bytes = o.query_limits.max_request_bytes;
  rt_ = std::make_unique<running_runtime>(o, stats_model());
  ep_ = rt_->endpoint("journal_stats");
  ASSERT_TRUE(wait_applied(ctx_, ep_, 1000));
  const std::string pad(o.query_limits.max_request_bytes * 2 / 5, 'x');
  const auto waiting = mp({{"q", "totals"}, {"after", 1002}, {"timeout_ms", 20000}, {"req", pad}});
  std::vector<zmq::socket_t> parked;
  park(ctx_, ep_, parked, waiting, 2);
  const auto j = error_of({waiting});
  EXPECT_EQ(j.value("error", ""), "overloaded") << j.dump();
  EXPECT_NE(j.value("message", "").find("bytes"), std::string::npos) << j.dump();
  park(ctx_, ep_, parked, mp({{"q", "totals"}, {"after", 1002}, {"timeout_ms", 20000}}),
       1);  // still fits
  journal_->append_many(2, 1);
  expect_answered(parked);
}

// Replies queued for a client that reads none are bounded in bytes
// (max_queued_reply_bytes): past it they are dropped and counted, and the
// model goes on answering everyone else. With only the high-water mark
// (a million replies) an outside probe made a model hold 1.7 GB.
TEST_F(RuntimeQueries, RepliesQueuedForAClientThatDoesNotReadAreBoundedInBytes) {
  // The log, to count the drop warnings (at most one per 10 s; one per 1000
  // drops made 14 lines in 5 s, an outside probe).
  auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10000);
  auto before = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", ring));
  struct restore {
    std::shared_ptr<spdlog::logger> l;
    ~restore() { spdlog::set_default_logger(l); }
  } restore_logger{before};
  rt_.reset();
  auto o = test_options(dir_.path());
  o.max_queued_reply_bytes = 64 << 10;
  rt_ = std::make_unique<running_runtime>(o, stats_model());
  ep_ = rt_->endpoint("journal_stats");
  ASSERT_TRUE(wait_applied(ctx_, ep_, 1000));
  zmq::socket_t quiet(ctx_, zmq::socket_type::dealer);
  quiet.set(zmq::sockopt::linger, 0);
  quiet.set(zmq::sockopt::rcvhwm, 1);
  quiet.set(zmq::sockopt::sndhwm, 0);
  quiet.connect(ep_);
  const auto ask = mp({{"q", "totals"}, {"req", std::string(200, 'r')}});  // ~300-byte replies
  constexpr int n = 50'000;                                                // ~15 MB of them
  for (int i = 0; i < n; ++i) quiet.send(zmq::buffer(ask));
  uint64_t dropped = 0;
  EXPECT_TRUE(eventually(
      [&] {
        auto st = query(ctx_, ep_, {{"q", "status"}});
        if (!st) return false;
        dropped = (*st)["result"]["queries"]["replies_dropped"].get<uint64_t>();
        return (*st)["result"]["queries"]["answered"].get<uint64_t>() >= n;
      },
      std::chrono::seconds(30)));
  EXPECT_GT(dropped, n / 2) << "the budget and the socket buffers hold a few thousand";
  EXPECT_TRUE(query(ctx_, ep_, {{"q", "totals"}}).has_value()) << "others are still served";
  size_t warnings = 0;
  for (const auto& line : ring->last_formatted())
    warnings += line.find("replies dropped so far") != std::string::npos;
  EXPECT_GE(warnings, 1u);
  EXPECT_LE(warnings, 3u);
}

// Counts events; its query "slow" takes 20 ms and answers the count.
class slow_counter final : public readmodels::read_model {
 public:
  std::string_view name() const override { return "slow_counter"; }
  void apply(const event_view&, readmodels::change_set&) override { ++count_; }
  errc query(std::string_view q, const msgpack::object&, readmodels::packer& pk,
             std::string& msg) const override {
    if (q != "slow") {
      msg = "only slow";
      return errc::unknown_query;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    pk.pack_uint64(count_);
    return errc::ok;
  }
  void save(out_buffer&) const override {}
  bool load(std::span<const char>, std::string&) override { return true; }
  std::unique_ptr<read_model> clone_empty() const override {
    return std::make_unique<slow_counter>();
  }

 private:
  uint64_t count_ = 0;
};

// A run of costly queries does not hold up the events: the projector
// serves them for a bounded time per turn (serve_budget), then applies what
// came meanwhile. Before, it served up to 256 queries in one go (5 s here).
TEST_F(RuntimeQueries, ARunOfCostlyQueriesLetsEventsBeAppliedInBetween) {
  rt_.reset();
  std::vector<std::unique_ptr<readmodels::read_model>> models;
  models.push_back(std::make_unique<slow_counter>());
  rt_ = std::make_unique<running_runtime>(test_options(dir_.path()), std::move(models));
  ep_ = rt_->endpoint("slow_counter");
  ASSERT_TRUE(wait_applied(ctx_, ep_, 1000));
  zmq::socket_t c(ctx_, zmq::socket_type::dealer);
  c.set(zmq::sockopt::linger, 0);
  c.connect(ep_);
  constexpr int n = 60;  // 1.2 s of work, all of it queued at once
  for (int i = 0; i < n; ++i) c.send(zmq::buffer(mp({{"q", "slow"}, {"req", i}})));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  journal_->append_many(500, 10, "more");
  uint64_t first = 0, last = 0;
  for (int i = 0; i < n; ++i) {
    zmq::pollitem_t item{c.handle(), 0, ZMQ_POLLIN, 0};
    ASSERT_GT(zmq::poll(&item, 1, std::chrono::milliseconds(5000)), 0) << "reply " << i;
    zmq::message_t m;
    ASSERT_TRUE(c.recv(m));
    const json r = from_mp(m);
    ASSERT_EQ(r["ok"], true) << r.dump();
    (i == 0 ? first : last) = r["result"].get<uint64_t>();
  }
  EXPECT_EQ(first, 1000u);
  EXPECT_EQ(last, 1500u) << "the events appended during the run were applied before it ended";
}

TEST_F(RuntimeQueries, ErrorsEchoReq) {
  auto j = error_of({mp({{"q", 1}, {"req", {{"n", 1}}}})});
  EXPECT_EQ(j["error"], "bad_request");
  EXPECT_EQ(j["req"], json({{"n", 1}}));
  j = error_of({mp({{"q", "nope"}, {"req", "abc"}})});
  EXPECT_EQ(j["error"], "unknown_query");
  EXPECT_EQ(j["req"], "abc");
  // A mistake in a field packed before `req` ("bogus" < "req": the map is
  // packed in key order) still echoes it.
  j = error_of({mp({{"bogus", 1}, {"q", "totals"}, {"req", "xyz"}})});
  EXPECT_EQ(j["error"], "bad_request");
  EXPECT_EQ(j["req"], "xyz");
  // `req: nil` is echoed as nil, on success and on error.
  auto r = query(ctx_, ep_, {{"q", "totals"}, {"req", nullptr}});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["ok"], true);
  ASSERT_TRUE(r->contains("req")) << r->dump();
  EXPECT_TRUE((*r)["req"].is_null());
  j = error_of({mp({{"q", "nope"}, {"req", nullptr}})});
  ASSERT_TRUE(j.contains("req")) << j.dump();
  EXPECT_TRUE(j["req"].is_null());
}

TEST_F(RuntimeQueries, StatusHasTheDocumentedFields) {
  auto r = query(ctx_, ep_, {{"q", "status"}});
  ASSERT_TRUE(r);
  ASSERT_EQ((*r)["ok"], true) << r->dump();
  const json& s = (*r)["result"];
  EXPECT_EQ(s["model"], "journal_stats");
  EXPECT_EQ(s["seq"], 1000);
  EXPECT_EQ(s["head"], 1000);
  EXPECT_EQ(s["events_applied"], 1000);
  EXPECT_EQ(s["lag"], 0);
  EXPECT_EQ(s["lag_ms"], 0);
  EXPECT_TRUE(s["apply_rate"].is_number());
  EXPECT_EQ(s["rebuilding"], false);
  EXPECT_FALSE(s.contains("rebuild_progress"));
  EXPECT_EQ(s["snapshot_seq"], 0);
  EXPECT_EQ(s["source"], "journal");
  EXPECT_EQ(s["caught_up"], true);
  EXPECT_TRUE(s["feed"].is_object());
  EXPECT_TRUE(s["pid"].is_number());
}

TEST_F(RuntimeQueries, AfterWaitsForTheEventWithoutBlockingOthers) {
  transport::rpc_client waiter(ctx_, ep_);
  const json q = {{"q", "get"},
                  {"args", {{"agg", "late"}, {"id", "x"}}},
                  {"after", 1001},
                  {"timeout_ms", 20000},
                  {"req", 1}};
  const auto body = json::to_msgpack(q);
  ASSERT_TRUE(waiter.send({reinterpret_cast<const char*>(body.data()), body.size()}));
  // Others are answered at once, with the state as it is.
  for (int i = 0; i < 20; ++i) {
    auto r = query(ctx_, ep_, {{"q", "totals"}});
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["seq"], 1000);
  }
  EXPECT_FALSE(waiter.receive(std::chrono::milliseconds(100)));  // still parked
  journal_->append("late", "x");
  auto m = waiter.receive(std::chrono::milliseconds(10000));
  ASSERT_TRUE(m);
  const json j = from_mp(*m);
  ASSERT_EQ(j["ok"], true) << j.dump();
  EXPECT_GE(j["seq"].get<uint64_t>(), 1001u);
  EXPECT_EQ(j["result"]["last_seq"], 1001);  // the state includes that seq
  EXPECT_EQ(j["req"], 1);
}

TEST_F(RuntimeQueries, AfterAlreadyReachedAnswersAtOnce) {
  auto r = query(ctx_, ep_, {{"q", "totals"}, {"after", 1000}, {"timeout_ms", 1}}, 2000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["ok"], true);
}

TEST_F(RuntimeQueries, FarAheadTimesOutWhileOthersAreServed) {
  transport::rpc_client waiter(ctx_, ep_);
  const auto body =
      json::to_msgpack({{"q", "totals"}, {"after", 5000000}, {"timeout_ms", 300}, {"req", 9}});
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(waiter.send({reinterpret_cast<const char*>(body.data()), body.size()}));
  int answered = 0;
  while (std::chrono::steady_clock::now() - t0 < 200ms) {
    auto r = query(ctx_, ep_, {{"q", "ping"}}, 2000ms);
    ASSERT_TRUE(r);
    ++answered;
  }
  EXPECT_GT(answered, 0);
  auto m = waiter.receive(std::chrono::milliseconds(5000));
  ASSERT_TRUE(m);
  const json j = from_mp(*m);
  EXPECT_EQ(j["error"], "timeout");
  EXPECT_EQ(j["req"], 9);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 290ms);
}

TEST_F(RuntimeQueries, PipelinedRequestsAllAnswered) {
  transport::pipeline_client p(ctx_, ep_, 2000);
  constexpr int kN = 5000;
  std::vector<int> seen(kN, 0);
  int bad = 0;
  auto on_reply = [&](std::span<const char> reply) {
    const json j = json::from_msgpack(reply.begin(), reply.end(), true, false);
    if (j.is_discarded() || j["ok"] != true) {
      ++bad;
      return;
    }
    ++seen[j["req"].get<int>()];
  };
  for (int i = 0; i < kN; ++i) {
    const auto body = json::to_msgpack({{"q", "totals"}, {"req", i}});
    ASSERT_TRUE(p.submit({reinterpret_cast<const char*>(body.data()), body.size()}, on_reply));
  }
  ASSERT_TRUE(p.drain(on_reply, std::chrono::milliseconds(20000)));
  EXPECT_EQ(bad, 0);
  for (int i = 0; i < kN; ++i) ASSERT_EQ(seen[i], 1) << i;
}

TEST_F(RuntimeQueries, ManyParkedQueriesAreReleasedTogether) {
  constexpr int kN = 200;
  transport::pipeline_client p(ctx_, ep_, kN);
  int ok = 0;
  auto on_reply = [&](std::span<const char> reply) {
    const json j = json::from_msgpack(reply.begin(), reply.end(), true, false);
    if (j["ok"] == true &&
        j["seq"].get<uint64_t>() >= 1000 + static_cast<uint64_t>(j["req"].get<int>() % 5) + 1)
      ++ok;
  };
  for (int i = 0; i < kN; ++i) {
    const auto body = json::to_msgpack(
        {{"q", "totals"}, {"after", 1000 + i % 5 + 1}, {"timeout_ms", 20000}, {"req", i}});
    ASSERT_TRUE(p.submit({reinterpret_cast<const char*>(body.data()), body.size()}, on_reply));
  }
  p.poll(on_reply, std::chrono::milliseconds(50));
  EXPECT_EQ(ok, 0);
  for (int i = 0; i < 5; ++i) journal_->append("thing", "late" + std::to_string(i));
  ASSERT_TRUE(p.drain(on_reply, std::chrono::milliseconds(10000)));
  EXPECT_EQ(ok, kN);
}

}  // namespace
}  // namespace rill::test
