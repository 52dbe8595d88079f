#include "daemons/rill/load_observers.h"

#include <algorithm>
#include <charconv>
#include <memory>

#include "core/msgpack_cursor.h"
#include "daemons/rill/cli_options.h"
#include "daemons/rill/load_reply.h"
#include "daemons/rill/load_workload.h"
#include "store/journal_reader.h"
#include "transport/client.h"
#include "transport/journal_subscriber.h"
#include "transport/notify_client.h"
#include "transport/security.h"

namespace rill::cli {

using namespace std::chrono_literals;

namespace {

// The corr field of an event body, empty if absent or malformed.
std::string_view event_corr(std::span<const char> body) {
  msgpack_cursor c(body);
  uint32_t n = 0;
  if (!c.read_map_header(n)) return {};
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view key, v;
    if (!c.read_str(key)) return {};
    if (key == "corr") return c.read_str(v) ? v : std::string_view{};
    if (!c.skip()) return {};
  }
  return {};
}

// The intended send time a --visible command carries in its corr
// ("<run tag>:<ns>"); 0 if the event is not one of this run's.
int64_t sent_stamp(std::span<const char> body, std::string_view prefix) {
  auto corr = event_corr(body);
  if (corr.size() <= prefix.size() || corr.substr(0, prefix.size()) != prefix) return 0;
  int64_t sent = 0;
  auto digits = corr.substr(prefix.size());
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), sent);
  return ec == std::errc() && sent > 0 ? sent : 0;
}

}  // namespace

// ---------------------------------------------------------- stamped_events

void stamped_events::finish(uint64_t expected, int linger_ms) {
  if (!thread_.joinable()) return;
  expected_.store(expected);
  stop_after_ns_.store(steady_ns() + int64_t{linger_ms} * 1'000'000);
  stop_.store(true);
  thread_.join();
}

void stamped_events::seen(std::span<const char> body, int64_t now) {
  last_seen_ = now;
  const int64_t sent = sent_stamp(body, prefix_);
  if (sent == 0) return;
  hist_.record(static_cast<uint64_t>(std::max<int64_t>(0, now - sent)));
  ++received_;
}

bool stamped_events::done() const {
  if (!stop_.load()) return false;
  const uint64_t want = expected_.load();
  if (want != 0 && received_ >= want) return true;
  return steady_ns() > std::max(stop_after_ns_.load(), last_seen_ + 200'000'000);
}

// ------------------------------------------------------------ feed_watcher

feed_watcher::feed_watcher(zmq::context_t& ctx, std::string events_ep, std::string run_tag)
    : stamped_events(std::move(run_tag)), ctx_(ctx), ep_(std::move(events_ep)) {}

void feed_watcher::start() {
  thread_ = std::thread([this] { loop(); });
  std::this_thread::sleep_for(300ms);  // let the SUB connect and subscribe
}

void feed_watcher::loop() {
  zmq::socket_t sub(ctx_, zmq::socket_type::sub);
  sub.set(zmq::sockopt::linger, 0);
  sub.set(zmq::sockopt::rcvhwm, 0);
  sub.set(zmq::sockopt::subscribe, "");
  try {
    transport::apply_client_security(sub, ep_, client_security());
    sub.connect(ep_);
  } catch (const zmq::error_t&) {
    return;
  }
  zmq::message_t msg;
  for (;;) {
    bool got = false;
    try {
      got = sub.recv(msg, zmq::recv_flags::dontwait).has_value();
    } catch (const zmq::error_t&) {
      return;
    }
    if (!got) {
      if (done()) return;
      zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
      try {
        zmq::poll(&item, 1, 50ms);
      } catch (const zmq::error_t&) {
        return;
      }
      continue;
    }
    if (msg.more()) continue;  // the topic frame; the body follows
    seen({static_cast<const char*>(msg.data()), msg.size()}, steady_ns());
  }
}

// --------------------------------------------------------- journal_watcher

journal_watcher::journal_watcher(std::filesystem::path journal_dir, std::string run_tag)
    : stamped_events(std::move(run_tag)), dir_(std::move(journal_dir)) {}

void journal_watcher::start() {
  store::journal_reader probe(dir_);
  const uint64_t from = probe.last_seq() + 1;
  // Positioned here, before the first command goes out: finding the head
  // of a long journal takes tens of milliseconds, and on the thread it was
  // counted into the first commands' latency (an outside probe saw 11-17 ms
  // minimums on a journal of 917k events).
  auto sub = std::make_shared<transport::journal_subscriber>(dir_, from);
  std::span<const char> body;
  uint64_t seq = 0;
  bool first = false;
  try {
    first = sub->next(body, seq, 0us);  // positions the reader
  } catch (const std::runtime_error&) {
    return;  // a damaged journal: the run reports no events seen
  }
  if (first) seen(body, steady_ns());
  thread_ = std::thread([this, sub] { loop(*sub); });
}

void journal_watcher::loop(transport::journal_subscriber& sub) {
  std::span<const char> body;
  uint64_t seq = 0;
  try {
    for (;;) {
      if (!sub.next(body, seq, 20ms)) {
        if (done()) return;
        continue;
      }
      seen(body, steady_ns());
    }
  } catch (const std::runtime_error&) {
    return;  // a damaged journal: the run reports fewer events seen
  }
}

// ------------------------------------------------------------- after_probe

after_probe::after_probe(zmq::context_t& ctx, std::string command_ep, std::string model_ep,
                         std::string model, const load_config& cfg, std::string run_tag)
    : ctx_(ctx),
      command_ep_(std::move(command_ep)),
      ep_(std::move(model_ep)),
      model_(std::move(model)),
      cfg_(cfg),
      run_tag_(std::move(run_tag)) {
  cfg_.batch = 1;  // one command per sample
  cfg_.atomic = false;
}

void after_probe::start() {
  thread_ = std::thread([this] { loop(); });
}

void after_probe::finish() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  thread_.join();
}

void after_probe::loop() {
  transport::rpc_client core(ctx_, command_ep_, client_security());
  transport::rpc_client model(ctx_, ep_, client_security());
  // Its ids are "<run tag>-<connections>-<n>": the workers use 0..connections-1.
  load_workload work(cfg_, run_tag_, cfg_.connections);
  uint64_t req = 0;
  while (!stop_.load()) {
    const int64_t sent = steady_ns();
    const auto next_sample = steady_from_ns(sent) + 1ms;
    ++req;
    if (!core.send(work.next(req, 0, 1))) {
      ++errors_;
      std::this_thread::sleep_for(10ms);
      continue;
    }
    reply_summary ack;
    bool acked = false;
    while (auto m = core.receive(3s)) {  // skips replies to requests that timed out
      if (read_reply({static_cast<const char*>(m->data()), m->size()}, 1, ack) && ack.has_req &&
          ack.req == req) {
        acked = true;
        break;
      }
    }
    if (!acked) {
      ++timeouts_;
      continue;
    }
    if (ack.ok != 1 || ack.seq == 0) {
      ++errors_;
      std::this_thread::sleep_for(10ms);
      continue;
    }
    ++commands_;
    nlohmann::json q = {{"model", model_},
                        {"q", "status"},
                        {"args", nlohmann::json::object()},
                        {"after", ack.seq},
                        {"timeout_ms", 2000}};
    auto r = model.call(q, 3s);
    const int64_t now = steady_ns();
    if (!r) {
      ++timeouts_;
      continue;
    }
    if (!r->value("ok", false)) {
      if (r->value("error", std::string()) == "timeout") ++timeouts_;
      else ++errors_;
      if (!r->contains("error") || (*r)["error"] != "timeout") std::this_thread::sleep_for(10ms);
      continue;
    }
    hist_.record(static_cast<uint64_t>(std::max<int64_t>(0, now - sent)));
    std::this_thread::sleep_until(next_sample);
  }
}

// ------------------------------------------------------------ note_watcher

note_watcher::note_watcher(zmq::context_t& ctx, std::string notify_ep, std::string model)
    : ctx_(ctx), ep_(std::move(notify_ep)), model_(std::move(model)) {}

bool note_watcher::start(std::string& error) {
  std::promise<std::string> ready;
  auto answer = ready.get_future();
  thread_ = std::thread([this, p = std::move(ready)]() mutable { loop(std::move(p)); });
  error = answer.get();
  if (error.empty()) return true;
  thread_.join();
  return false;
}

void note_watcher::finish(uint64_t target, int quiet_ms, int max_ms) {
  if (!thread_.joinable()) return;
  target_.store(target);
  quiet_ns_.store(int64_t{quiet_ms} * 1'000'000);
  stop_at_ns_.store(steady_ns() + int64_t{std::max(max_ms, quiet_ms)} * 1'000'000);
  stop_.store(true);
  thread_.join();
}

void note_watcher::loop(std::promise<std::string> ready) {
  transport::notify_client_options opt;
  opt.receive_hwm = 1'000'000;  // a slow observer should not be dropped by libzmq
  opt.max_pending = 1'000'000;
  std::optional<transport::notify_client> nc;
  try {
    nc.emplace(ctx_, ep_, opt, client_security());
  } catch (const zmq::error_t& e) {
    ready.set_value(std::string("cannot connect to ") + ep_ + ": " + e.what());
    return;
  }
  const errc rc = nc->watch(model_, std::nullopt, 3000ms);
  if (rc != errc::ok) {
    ready.set_value("rill-notify did not accept the watch on " + ep_ + " (" +
                    std::string(rill::to_string(rc)) + ")");
    return;
  }
  ready.set_value("");
  uint64_t high = 0;
  int64_t last_note = steady_ns();
  for (;;) {
    if (stop_.load()) {
      const int64_t now = steady_ns();
      const uint64_t want = target_.load();
      if (want != 0 && high >= want) return;
      if (now >= stop_at_ns_.load() || now - last_note >= quiet_ns_.load()) return;
    }
    auto n = nc->next_note(20ms);
    if (!n) continue;
    const int64_t now = steady_ns();
    last_note = now;
    ++notes_;
    if (n->resync) {
      ++resyncs_;
      continue;
    }
    if (n->model != model_ || n->seq <= high) continue;
    high = n->seq;
    marks_.push_back({high, now});
  }
}

latency_histogram match_notes(std::span<const note_mark> marks,
                              std::span<const acked_request> acked, uint64_t& missing) {
  latency_histogram h;
  missing = 0;
  for (const auto& a : acked) {
    auto it = std::lower_bound(marks.begin(), marks.end(), a.seq,
                               [](const note_mark& m, uint64_t s) { return m.seq < s; });
    if (it == marks.end()) {
      ++missing;
      continue;
    }
    h.record(static_cast<uint64_t>(std::max<int64_t>(0, it->at_ns - a.sent_ns)));
  }
  return h;
}

}  // namespace rill::cli
