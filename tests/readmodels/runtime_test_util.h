#pragma once
// Test support for the projection runtime: a journal filled directly with
// store::journal_writer + encode_event (no rill-core), a runtime running
// on its own thread, and small query helpers over real sockets.
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "core/buffer.h"
#include "core/event.h"
#include "readmodels/event_source_journal.h"
#include "readmodels/projector_decode.h"
#include "readmodels/runtime.h"
#include "readmodels/runtime_journal_stats.h"
#include "store/journal_writer.h"
#include "tests/support/child_process.h"
#include "transport/client.h"
#include "transport/endpoints.h"

namespace rill::test {

using json = nlohmann::json;
using namespace std::chrono_literals;

// Appends events of the form agg/id TYPE to a journal. Event i of
// append_many() goes to aggregate "<agg>/a<i % aggregates>".
class test_journal {
 public:
  // ts_base: events get ts = ts_base + seq * 1000, so two journals with
  // different bases hold different events at the same seq.
  explicit test_journal(const std::filesystem::path& dir, uint64_t segment_size = 1 << 20,
                        uint64_t ts_base = 1'700'000'000'000'000'000ull)
      : ts_base_(ts_base) {
    store::journal_options o;
    o.dir = dir;
    o.segment_size = segment_size;
    o.prefault_ahead = 0;
    store::recovery_report rep;
    writer_ = store::journal_writer::open(o, rep);
    if (!writer_) ADD_FAILURE() << "cannot open journal: " << rep.message;
    head_ = writer_ ? writer_->head() : 0;
  }

  // Appends one event and publishes it; returns its seq.
  uint64_t append(std::string_view agg, std::string_view id,
                  std::string_view type = "THING_HAPPENED", uint64_t ver = 1) {
    add(agg, id, type, ver);
    writer_->publish();
    return head_;
  }

  // Appends one event with a data map (given as JSON) and publishes it.
  uint64_t append_data(std::string_view agg, std::string_view id, std::string_view type,
                       uint64_t ver, const json& data) {
    const auto bytes = json::to_msgpack(data);
    msgpack::zone zone;
    std::size_t off = 0;
    msgpack::object d =
        msgpack::unpack(zone, reinterpret_cast<const char*>(bytes.data()), bytes.size(), off);
    add(agg, id, type, ver, &d);
    writer_->publish();
    return head_;
  }

  // Appends n events over `aggregates` aggregates, publishing every `group`.
  uint64_t append_many(uint64_t n, uint64_t aggregates = 100, std::string_view agg = "thing",
                       uint64_t group = 256) {
    for (uint64_t i = 0; i < n; ++i) {
      const std::string id = "a" + std::to_string(i % aggregates);
      add(agg, id, i % 3 == 0 ? "THING_CREATED" : "THING_UPDATED", i / aggregates + 1);
      if ((i + 1) % group == 0) writer_->publish();
    }
    writer_->publish();
    return head_;
  }

  // Appends a record whose body is not an event (it passes the journal's
  // checksum but does not decode).
  uint64_t append_garbage() {
    const char junk[] = "\x93\x01\x02\x03";
    if (writer_->append(head_ + 1, {junk, 4}) != store::io_status::ok) ADD_FAILURE();
    ++head_;
    writer_->publish();
    return head_;
  }

  uint64_t head() const { return head_; }
  void close() { writer_.reset(); }

 private:
  void add(std::string_view agg, std::string_view id, std::string_view type, uint64_t ver,
           const msgpack::object* data = nullptr) {
    event_view e;
    e.seq = head_ + 1;
    e.ts = ts_base_ + e.seq * 1000;
    e.type = type;
    e.agg = agg;
    e.id = id;
    e.ver = ver;
    e.data = data;
    buf_.clear();
    encode_event(buf_, e);
    const auto s = writer_->append(e.seq, buf_.span());
    if (s != store::io_status::ok) ADD_FAILURE() << "append failed: " << store::to_string(s);
    head_ = e.seq;
  }

  uint64_t ts_base_;
  std::unique_ptr<store::journal_writer> writer_;
  out_buffer buf_;
  uint64_t head_ = 0;
};

// Runs a runtime on its own thread; stops and joins it on destruction.
class running_runtime {
 public:
  running_runtime(readmodels::runtime_options opt,
                  std::vector<std::unique_ptr<readmodels::read_model>> models) {
    rt_ = std::make_unique<readmodels::runtime>(std::move(opt), std::move(models));
    thread_ = std::thread([this] { rc_ = rt_->run(); });
    if (!eventually([&] { return rt_->ready(); }, 20s)) ADD_FAILURE() << "runtime not ready";
  }
  ~running_runtime() { stop(); }
  int stop() {
    if (thread_.joinable()) {
      rt_->stop();
      thread_.join();
    }
    return rc_;
  }
  readmodels::runtime& rt() { return *rt_; }
  std::string endpoint(const std::string& model) const {
    return rt_->options().model_endpoints.at(model);
  }

 private:
  std::unique_ptr<readmodels::runtime> rt_;
  std::thread thread_;
  int rc_ = -1;
};

inline readmodels::runtime_options test_options(const std::filesystem::path& data) {
  readmodels::runtime_options o;
  o.data_dir = data;
  o.notify_in_endpoint = "none";
  o.snapshot_every = 0;
  o.snapshot_seconds = 0;
  return o;
}

inline std::vector<std::unique_ptr<readmodels::read_model>> stats_model() {
  std::vector<std::unique_ptr<readmodels::read_model>> v;
  v.push_back(std::make_unique<readmodels::journal_stats>());
  return v;
}

// One query over a fresh DEALER; nullopt on timeout.
inline std::optional<json> query(zmq::context_t& ctx, const std::string& ep, json request,
                                 std::chrono::milliseconds timeout = 5000ms) {
  transport::rpc_client c(ctx, ep);
  return c.call(std::move(request), timeout);
}

// The model's status result (null on timeout).
inline json status(zmq::context_t& ctx, const std::string& ep) {
  auto r = query(ctx, ep, {{"q", "status"}});
  return r ? (*r)["result"] : json();
}

// Waits until the model's status says seq >= want.
inline bool wait_applied(zmq::context_t& ctx, const std::string& ep, uint64_t want,
                         std::chrono::milliseconds timeout = 20000ms) {
  transport::rpc_client c(ctx, ep);
  return eventually(
      [&] {
        auto r = c.call({{"q", "status"}}, 1000ms);
        return r && (*r)["ok"] == true && (*r)["result"]["seq"].get<uint64_t>() >= want;
      },
      timeout);
}

inline std::string digest(zmq::context_t& ctx, const std::string& ep) {
  auto r = query(ctx, ep, {{"q", "digest"}});
  if (!r || (*r)["ok"] != true) return "no answer";
  return (*r)["result"]["digest"].get<std::string>();
}

// The digest journal_stats has after applying the whole journal directly
// (no runtime): what every restart, recovery and rebuild must converge to.
inline std::string expected_digest(const std::filesystem::path& journal_dir,
                                   uint64_t* events = nullptr) {
  readmodels::journal_stats m;
  readmodels::event_source_journal src(journal_dir);
  readmodels::event_decoder dec;
  readmodels::change_set cs;
  event_view v;
  std::string why;
  readmodels::source_event ev;
  while (src.next(ev) == readmodels::source_status::ok) {
    if (dec.decode(ev.body, v, why) == errc::ok) m.apply(v, cs);
    cs.clear();
  }
  out_buffer out;
  readmodels::packer pk(out);
  std::string msg;
  msgpack::object empty;
  empty.type = msgpack::type::MAP;
  empty.via.map.size = 0;
  empty.via.map.ptr = nullptr;
  if (m.query("digest", empty, pk, msg) != errc::ok) return "error";
  if (events) *events = m.events();
  return json::from_msgpack(out.view())["digest"].get<std::string>();
}

}  // namespace rill::test
