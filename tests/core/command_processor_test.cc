// command_processor without sockets: an in-memory journal sink.
#include "core/command_processor.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/event.h"

namespace rill {
namespace {

using json = nlohmann::json;

class memory_sink : public journal_sink {
 public:
  uint64_t head() const override { return published_.size() + pending_.size(); }
  errc append(uint64_t seq, std::span<const char> body) override {
    if (fail_append) return errc::unavailable;
    EXPECT_EQ(seq, head() + 1);
    pending_.emplace_back(body.begin(), body.end());
    return errc::ok;
  }
  void publish() override {
    for (auto& p : pending_) published_.push_back(std::move(p));
    pending_.clear();
    ++publishes;
  }
  void discard_unpublished() override { pending_.clear(); }
  errc flush() override {
    ++flushes;
    return fail_flush ? errc::unavailable : errc::ok;
  }
  const std::vector<std::string>& events() const { return published_; }
  bool fail_append = false, fail_flush = false;
  int flushes = 0, publishes = 0;

 private:
  std::vector<std::string> published_, pending_;
};

class processor_test : public ::testing::Test {
 protected:
  explicit processor_test(bool durable = false)
      : val_(schema::default_schema()),
        proc_(schema::default_schema(), val_, sink_, make_options(durable)) {}
  static processor_options make_options(bool durable) {
    processor_options o;
    o.durable = durable;
    o.clock = [] { return uint64_t{1234}; };
    return o;
  }
  json send(const json& req) {
    proc_.begin_batch();
    auto b = json::to_msgpack(req);
    size_t i = proc_.handle({reinterpret_cast<const char*>(b.data()), b.size()});
    proc_.end_batch();
    auto r = proc_.reply(i);
    return json::from_msgpack(std::string(r.data(), r.size()));
  }
  static json customer(const std::string& id) {
    return {{"cmd", "CREATE_CUSTOMER"}, {"agg", "customer"}, {"id", id},
            {"data", {{"name", "N"}, {"email", "e@x"}}}};
  }
  memory_sink sink_;
  validator val_;
  command_processor proc_;
};

TEST_F(processor_test, EventCarriesEveryProtocolField) {
  json c = customer("c1");
  c["key"] = "k1";
  c["corr"] = "flow-7";
  auto r = send(c);
  ASSERT_EQ(r["ok"], true);
  ASSERT_EQ(sink_.events().size(), 1u);
  auto ev = json::from_msgpack(sink_.events()[0]);
  EXPECT_EQ(ev["seq"], 1);
  EXPECT_EQ(ev["ts"], 1234);
  EXPECT_EQ(ev["type"], "CUSTOMER_CREATED");
  EXPECT_EQ(ev["agg"], "customer");
  EXPECT_EQ(ev["id"], "c1");
  EXPECT_EQ(ev["ver"], 1);
  EXPECT_EQ(ev["data"], c["data"]);
  EXPECT_EQ(ev["key"], "k1");
  EXPECT_EQ(ev["corr"], "flow-7");
  EXPECT_FALSE(json::from_msgpack(sink_.events()[0]).contains("req"));
}

// The event's data is the client's encoding of it, byte for byte (no second
// encode), for a single command and for every element of a batch, atomic
// or not. The data here uses forms a packer would not choose (map16, str8,
// uint32 for a small number), so a re-encoded copy would differ.
TEST_F(processor_test, EventDataIsTheClientsBytes) {
  const std::string data(
      "\xde\x00\x02"           // map16 of 2
      "\xd9\x04name\xd9\x01N"  // str8 keys and values
      "\xa5"
      "email"
      "\xda\x00\x03"
      "e@x",
      3 + 6 + 3 + 6 + 6);
  auto command = [&](const std::string& id) {
    out_buffer b;
    msgpack::packer<out_buffer> pk(b);
    pk.pack_map(4);
    pk.pack(std::string_view("cmd"));
    pk.pack(std::string_view("CREATE_CUSTOMER"));
    pk.pack(std::string_view("agg"));
    pk.pack(std::string_view("customer"));
    pk.pack(std::string_view("id"));
    pk.pack(std::string_view(id));
    pk.pack(std::string_view("data"));
    b.append(data);
    return std::string(b.view());
  };
  auto send_raw = [&](const std::string& bytes) {
    proc_.begin_batch();
    const size_t i = proc_.handle({bytes.data(), bytes.size()});
    proc_.end_batch();
    const auto r = proc_.reply(i);
    return json::from_msgpack(std::string(r.data(), r.size()));
  };
  auto batch = [&](bool atomic) {
    out_buffer b;
    msgpack::packer<out_buffer> pk(b);
    pk.pack_map(2);
    pk.pack(std::string_view("batch"));
    pk.pack_array(2);
    b.append(command(atomic ? "a1" : "b1"));
    b.append(command(atomic ? "a2" : "b2"));
    pk.pack(std::string_view("atomic"));
    pk.pack(atomic);
    return std::string(b.view());
  };
  ASSERT_EQ(send_raw(command("c1"))["ok"], true);
  ASSERT_EQ(send_raw(batch(false))["results"][1]["seq"], 3);
  ASSERT_EQ(send_raw(batch(true))["results"][1]["seq"], 5);
  ASSERT_EQ(sink_.events().size(), 5u);
  for (const std::string& ev : sink_.events()) {
    const size_t at =
        ev.find(std::string("\xa4"
                            "data",
                            5));
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(ev.substr(at + 5, data.size()), data);
    const json j = json::from_msgpack(ev);
    EXPECT_EQ(j["data"], (json{{"name", "N"}, {"email", "e@x"}}));
    EXPECT_EQ(j["type"], "CUSTOMER_CREATED");
  }
}

TEST_F(processor_test, FailedAppendIsUnavailableAndLeavesNoTrace) {
  sink_.fail_append = true;
  auto r = send(customer("c1"));
  EXPECT_EQ(r["error"], "unavailable");
  sink_.fail_append = false;
  r = send(customer("c1"));
  EXPECT_EQ(r["ok"], true) << "the index was rolled back: c1 does not exist";
  EXPECT_EQ(r["seq"], 1);
}

TEST_F(processor_test, AtomicBatchFailingAppendDiscardsAll) {
  json b = {{"batch", {customer("a"), customer("b")}}, {"atomic", true}};
  sink_.fail_append = true;
  auto r = send(b);
  EXPECT_EQ(r["results"][0]["error"], "unavailable");
  EXPECT_EQ(r["results"][1]["error"], "aborted");
  sink_.fail_append = false;
  EXPECT_EQ(send(b)["results"][1]["seq"], 2);
  EXPECT_EQ(sink_.events().size(), 2u);
}

TEST_F(processor_test, BatchIsPublishedAsOneGroup) {
  sink_.publishes = 0;
  auto r = send({{"batch", {customer("a"), customer("b"), customer("c")}}});
  EXPECT_EQ(r["results"].size(), 3u);
  EXPECT_EQ(sink_.publishes, 1);
}

TEST_F(processor_test, StatusCountsErrorsPerCode) {
  send(customer("a"));
  send(customer("a"));
  send({{"cmd", "X"}, {"agg", "customer"}, {"id", "a"}});
  auto s = send({{"op", "status"}, {"req", "s"}});
  EXPECT_EQ(s["ok"], true);
  EXPECT_EQ(s["head"], 1);
  EXPECT_EQ(s["req"], "s");
  EXPECT_EQ(s["errors"]["already_exists"], 1);
  EXPECT_EQ(s["errors"]["unknown_command"], 1);
  EXPECT_EQ(send({{"op", "reboot"}})["error"], "bad_request");
}

// Decoding ahead (stage / handle_staged, as rill-core's drain loop runs
// them) gives the same replies and events as handle(), request by request,
// over a drained batch longer than the lookahead ring, where later requests
// depend on earlier ones (create then update, an order referencing a
// customer created just before, a repeated idempotency key, a duplicate
// create) and some requests fail to decode.
TEST(ProcessorStaging, DecodingAheadGivesTheSameRepliesAndEvents) {
  std::vector<std::string> reqs;
  auto add = [&](const json& j) {
    auto b = json::to_msgpack(j);
    reqs.emplace_back(b.begin(), b.end());
  };
  for (int i = 0; i < 40; ++i) {
    const std::string c = "c" + std::to_string(i % 7);
    add({{"cmd", "CREATE_CUSTOMER"},
         {"agg", "customer"},
         {"id", c},
         {"req", i},
         {"data", {{"name", "N"}, {"email", "e@x"}}}});
    add({{"cmd", "UPDATE_CUSTOMER"},
         {"agg", "customer"},
         {"id", c},
         {"expect", i % 3},
         {"data", {{"name", "M" + std::to_string(i)}}}});
    add({{"cmd", "CREATE_ORDER"},
         {"agg", "order"},
         {"id", "o" + std::to_string(i)},
         {"key", "k" + std::to_string(i % 5)},
         {"data", {{"customer_id", c}, {"amount", 5}, {"currency", "EUR"}}}});
    if (i % 4 == 0) reqs.emplace_back("\xc1 not msgpack");
    if (i % 6 == 0) add({{"op", "ping"}, {"req", "p"}});
    if (i % 5 == 0)
      add({{"batch",
            {{{"cmd", "UPDATE_CUSTOMER"},
              {"agg", "customer"},
              {"id", c},
              {"data", {{"country", "FR"}}}},
             {{"cmd", "UPDATE_CUSTOMER"},
              {"agg", "customer"},
              {"id", "nobody"},
              {"data", {{"country", "FR"}}}}}},
           {"atomic", i % 10 == 0}});
  }
  ASSERT_GT(reqs.size(), 4 * command_processor::kLookahead);

  processor_options o;
  o.clock = [] { return uint64_t{1234}; };
  memory_sink one_sink, ahead_sink;
  validator one_val(schema::default_schema()), ahead_val(schema::default_schema());
  command_processor one(schema::default_schema(), one_val, one_sink, o);
  command_processor ahead(schema::default_schema(), ahead_val, ahead_sink, o);

  std::vector<std::string> one_replies;
  for (const auto& r : reqs) {
    one.begin_batch();
    const size_t i = one.handle({r.data(), r.size()});
    one.end_batch();
    one_replies.emplace_back(one.reply(i).data(), one.reply(i).size());
  }
  // One drained batch, staged kLookahead ahead like the daemon's loop.
  const size_t n = reqs.size(), k = command_processor::kLookahead;
  auto stage = [&](size_t i) {
    if (i < n) ahead.stage(i, {reqs[i].data(), reqs[i].size()});
  };
  ahead.begin_batch();
  for (size_t i = 0; i < k; ++i) stage(i);
  for (size_t i = 0; i < n; ++i) {
    stage(i + k);
    ASSERT_EQ(ahead.handle_staged(i), i);
  }
  ahead.end_batch();
  size_t oks = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto r = ahead.reply(i);
    EXPECT_EQ(std::string(r.data(), r.size()), one_replies[i]) << "request " << i;
    oks += json::from_msgpack(one_replies[i]).value("ok", false);
  }
  EXPECT_GT(oks, n / 2) << "the sequence is meant to be mostly valid";
  EXPECT_LT(oks, n) << "and to hold errors too";
  EXPECT_EQ(ahead_sink.events(), one_sink.events());
  EXPECT_EQ(ahead.counters().errors[static_cast<size_t>(errc::bad_request)],
            one.counters().errors[static_cast<size_t>(errc::bad_request)]);
}

class durable_processor_test : public processor_test {
 protected:
  durable_processor_test() : processor_test(true) {}
};

TEST_F(durable_processor_test, OneFlushPerDrainedBatch) {
  proc_.begin_batch();
  for (int i = 0; i < 10; ++i) {
    auto b = json::to_msgpack(customer("c" + std::to_string(i)));
    proc_.handle({reinterpret_cast<const char*>(b.data()), b.size()});
  }
  EXPECT_EQ(proc_.end_batch(), errc::ok);
  EXPECT_EQ(sink_.flushes, 1);
  send({{"op", "ping"}});
  EXPECT_EQ(sink_.flushes, 1) << "no flush when nothing was acknowledged";
}

TEST_F(durable_processor_test, FailedFlushTurnsAcksIntoUnavailable) {
  sink_.fail_flush = true;
  json c = customer("c1");
  c["req"] = 42;
  auto r = send(c);
  EXPECT_EQ(r["ok"], false);
  EXPECT_EQ(r["error"], "unavailable");
  EXPECT_EQ(r["req"], 42);
  auto e = send({{"cmd", "NOPE"}, {"agg", "customer"}, {"id", "x"}});
  EXPECT_EQ(e["error"], "unknown_command") << "replies that acknowledged nothing stay as they are";
}

TEST(ProcessorClock, ReadOncePerRequestMessageSoABatchsEventsShareTheirTs) {
  memory_sink sink;
  validator val(schema::default_schema());
  processor_options o;
  uint64_t now = 1000, reads = 0;
  o.clock = [&] {
    ++reads;
    return now += 7;
  };
  command_processor proc(schema::default_schema(), val, sink, o);
  auto handle = [&](const json& req) {
    auto b = json::to_msgpack(req);
    proc.begin_batch();
    proc.handle({reinterpret_cast<const char*>(b.data()), b.size()});
    proc.end_batch();
  };
  auto create = [](const std::string& id) {
    return json{{"cmd", "CREATE_CUSTOMER"},
                {"agg", "customer"},
                {"id", id},
                {"data", {{"name", "N"}, {"email", "e@x"}}}};
  };
  handle({{"batch", {create("a"), create("b"), create("c")}}});
  EXPECT_EQ(reads, 1u);
  handle(create("d"));
  handle(create("e"));
  EXPECT_EQ(reads, 3u);
  handle({{"op", "ping"}});
  handle(create("a"));  // already_exists: no event, no clock read
  EXPECT_EQ(reads, 3u);
  ASSERT_EQ(sink.events().size(), 5u);
  std::vector<uint64_t> ts;
  for (const auto& body : sink.events()) {
    msgpack::zone z;
    event_view ev;
    ASSERT_EQ(decode_event({body.data(), body.size()}, z, ev), errc::ok);
    ts.push_back(ev.ts);
  }
  EXPECT_EQ(ts[0], 1007u);
  EXPECT_EQ(ts[1], 1007u);
  EXPECT_EQ(ts[2], 1007u);
  EXPECT_EQ(ts[3], 1014u);
  EXPECT_EQ(ts[4], 1021u);
}

}  // namespace
}  // namespace rill
