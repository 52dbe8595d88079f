#include "daemons/rill/load_worker.h"

#include <sys/prctl.h>

#include <algorithm>
#include <bit>
#include <thread>
#include <vector>

#include "daemons/rill/cli_options.h"
#include "daemons/rill/load_reply.h"
#include "daemons/rill/load_workload.h"
#include "transport/client.h"

namespace rill::cli {

using namespace std::chrono_literals;

load_worker::load_worker(zmq::context_t& ctx, std::string endpoint, const load_config& cfg,
                         std::string run_tag, uint32_t index, uint64_t commands,
                         std::chrono::steady_clock::time_point start,
                         std::chrono::steady_clock::time_point deadline, worker_shared& shared)
    : ctx_(ctx),
      endpoint_(std::move(endpoint)),
      cfg_(cfg),
      run_tag_(std::move(run_tag)),
      index_(index),
      commands_(commands),
      start_(start),
      deadline_(deadline),
      shared_(shared) {}

void load_worker::run() {
  transport::pipeline_client pc(ctx_, endpoint_, cfg_.window, client_security());
  load_workload work(cfg_, run_tag_, index_);
  std::this_thread::sleep_until(start_);  // every connection starts together
  // Open loop sleeps until each intended send time: 1 us of timer slack
  // instead of the default 50 us keeps those wake-ups on time.
  if (cfg_.open_loop()) ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

  // In-flight requests by req: a ring of send stamps (replies come back in
  // order on one connection, but each slot also holds its req to be sure).
  const size_t ring = std::bit_ceil(static_cast<size_t>(cfg_.window) * 2);
  struct slot { uint64_t req = 0; int64_t sent_ns = 0; };
  std::vector<slot> slots(ring);
  const bool stamp = cfg_.visible || cfg_.visible_journal;
  const uint32_t batch = cfg_.batch;

  int64_t last_reply_ns = steady_ns();  // or the start: when the window last moved
  auto on_reply = [&](std::span<const char> body) {
    const int64_t now = steady_ns();
    last_reply_ns = now;
    reply_summary r;
    if (!read_reply(body, batch, r) || !r.has_req) {
      ++result_.malformed;
      return;
    }
    slot& s = slots[r.req & (ring - 1)];
    if (s.req != r.req || s.sent_ns == 0) {
      ++result_.malformed;
      return;
    }
    result_.latency.record(static_cast<uint64_t>(std::max<int64_t>(0, now - s.sent_ns)));
    ++result_.replies;
    result_.ok += r.ok;
    result_.failed += r.failed;
    if (r.failed > 0) {
      auto it = result_.errors.find(r.first_error);
      if (it == result_.errors.end()) result_.errors.emplace(std::string(r.first_error), r.failed);
      else it->second += r.failed;
    }
    if (r.seq != 0 && result_.acked.size() < shared_.max_acked)
      result_.acked.push_back({r.seq, s.sent_ns});
    s.sent_ns = 0;
    shared_.commands_done.fetch_add(r.ok + r.failed, std::memory_order_relaxed);
  };

  const uint64_t max_requests = commands_ == 0 ? UINT64_MAX : (commands_ + batch - 1) / batch;
  const int64_t start_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(start_.time_since_epoch()).count();
  const int64_t deadline_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(deadline_.time_since_epoch()).count();
  // Open loop: requests per second of this connection -> interval.
  const double per_conn_rate = cfg_.rate / cfg_.connections / batch;
  const double interval_ns = cfg_.open_loop() ? 1e9 / per_conn_rate : 0;

  // A full window with no reply for this long: the server is gone (killed,
  // or not answering); the run ends instead of waiting for ever.
  const int64_t stall_ns = static_cast<int64_t>(cfg_.drain_timeout_s * 1e9);
  uint64_t req = 1;
  while (result_.requests < max_requests && !shared_.stop.load(std::memory_order_relaxed)) {
    int64_t now = steady_ns();
    int64_t sent_at = now;
    if (pc.in_flight() >= cfg_.window && now - last_reply_ns > stall_ns) {
      result_.fatal = "no reply from " + endpoint_ + " for " +
                      std::to_string(static_cast<int64_t>(cfg_.drain_timeout_s)) + " s with " +
                      std::to_string(pc.in_flight()) + " requests in flight";
      break;
    }
    if (cfg_.open_loop()) {
      const int64_t intended =
          start_ns + static_cast<int64_t>(static_cast<double>(result_.requests) * interval_ns);
      // Past the deadline nothing more is sent, also when a full window held
      // the sends back (their intended times never came round).
      if (commands_ == 0 && (intended >= deadline_ns || now >= deadline_ns)) break;
      if (now < intended || pc.in_flight() >= cfg_.window) {
        // Not due yet (or no room): handle replies meanwhile, sleeping in
        // the socket's poll until the next send is due. Never spin: on a
        // 2-CPU host a spinning load generator takes a whole CPU from the
        // daemon it measures (at 20k/s the command -> feed p50 was 1.7 ms
        // with the old spin-and-yield loop, against 0.1 ms at 2k/s).
        if (pc.in_flight() >= cfg_.window) pc.poll(on_reply, 100ms);
        else if (intended - now > 2'000) pc.poll_until(on_reply, steady_from_ns(intended));
        else pc.poll(on_reply, 0ms);
        continue;
      }
      sent_at = intended;
    } else {
      if (commands_ == 0 && now >= deadline_ns) break;
      if (pc.in_flight() >= cfg_.window) {
        // --spin-us: look for the reply without sleeping first (saves the
        // wake-up of a blocking poll, at the price of a busy CPU).
        if (cfg_.spin_us > 0) {
          const int64_t until = now + int64_t{cfg_.spin_us} * 1000;
          while (pc.poll(on_reply, 0ms) == 0 && steady_ns() < until) {
          }
          if (pc.in_flight() < cfg_.window) continue;
        }
        pc.poll(on_reply, 100ms);
        continue;
      }
    }
    slot& s = slots[req & (ring - 1)];
    if (s.sent_ns != 0) {  // still unanswered after a full ring: should not happen
      pc.poll(on_reply, 100ms);
      continue;
    }
    auto body = work.next(req, stamp ? sent_at : 0);
    s.req = req;
    s.sent_ns = sent_at;
    if (cfg_.open_loop())
      result_.send_lag.record(static_cast<uint64_t>(std::max<int64_t>(0, steady_ns() - sent_at)));
    if (!pc.submit(body, on_reply, 10s)) {
      s.sent_ns = 0;
      result_.fatal = "could not send to " + endpoint_;
      break;
    }
    ++req;
    ++result_.requests;
    if (cfg_.open_loop()) pc.poll(on_reply, 0ms);
  }
  pc.drain(on_reply, std::chrono::milliseconds(static_cast<int64_t>(cfg_.drain_timeout_s * 1000)));
  result_.lost = pc.in_flight();
  result_.customers = work.customers_created();
}

}  // namespace rill::cli
