#include "daemons/rill/load_worker.h"

#include <sys/prctl.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
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
  // The window is counted below; the client never holds a send back.
  transport::pipeline_client pc(ctx_, endpoint_, SIZE_MAX, client_security());
  load_workload work(cfg_, run_tag_, index_);
  std::this_thread::sleep_until(start_);  // every connection starts together
  // Open loop sleeps until each intended send time: 1 us of timer slack
  // instead of the default 50 us keeps those wake-ups on time.
  if (cfg_.open_loop()) ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

  // In-flight requests by req: a ring of slots (replies come back in order
  // on one connection, but each slot also holds its req to be sure). The
  // window is counted here, not by the pipeline_client, so that a request
  // given up (no reply within the drain timeout: rill-core restarted and
  // lost it) frees its place; a reply that still comes later is counted
  // then. Without that, each lost reply held a slot for good and the run
  // stopped sending once the ring came round to it.
  const size_t ring = std::bit_ceil(static_cast<size_t>(cfg_.window) * 2);
  enum : uint8_t { kFree, kWaiting, kGivenUp };
  struct slot {
    uint64_t req = 0;
    int64_t sent_ns = 0;    // latency origin: the intended send time in open loop
    int64_t actual_ns = 0;  // when it really left (the give-up clock)
    uint32_t size = 0;      // commands in the request
    uint8_t state = kFree;
  };
  std::vector<slot> slots(ring);
  size_t outstanding = 0;
  uint64_t oldest = 1;  // no request below it is waiting
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
    if (s.req != r.req || s.state == kFree) {
      ++result_.malformed;
      return;
    }
    if (batch > 1) {
      if (!r.has_results) {
        if (r.failed > 0) r.failed = s.size;  // the batch failed as a whole
      } else if (r.ok + r.failed != s.size) {
        // A batch reply must answer each of its commands: the server broke
        // the protocol, and the request counts as unanswered.
        ++result_.malformed;
        if (s.state == kWaiting) --outstanding;
        else --result_.gave_up;  // answered after all, if not well
        s.state = kFree;
        return;
      }
    }
    if (s.state == kWaiting) {
      --outstanding;
    } else {
      --result_.gave_up;  // it did come: a late reply, not a lost one
      ++result_.late;
    }
    s.state = kFree;
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
    shared_.commands_done.fetch_add(r.ok + r.failed, std::memory_order_relaxed);
  };

  // A request with no reply for this long is given up (counted lost unless
  // its reply still comes); a full window with no reply at all for this
  // long means the server is gone, and the run ends.
  const int64_t stall_ns = static_cast<int64_t>(cfg_.drain_timeout_s * 1e9);
  int64_t gave_up_all_ns = INT64_MIN;  // when a full window was last given up
  uint64_t req = 1;
  // Gives up the waiting requests that left before `cutoff_ns`, oldest
  // first (they left in order: the first later one ends the walk).
  auto give_up_sent_before = [&](int64_t cutoff_ns) {
    for (; oldest < req; ++oldest) {
      slot& s = slots[oldest & (ring - 1)];
      if (s.req != oldest || s.state != kWaiting) continue;
      if (s.actual_ns >= cutoff_ns) break;
      s.state = kGivenUp;
      --outstanding;
      ++result_.gave_up;
    }
  };

  const uint64_t max_requests = commands_ == 0 ? UINT64_MAX : (commands_ + batch - 1) / batch;
  const int64_t start_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(start_.time_since_epoch()).count();
  const int64_t deadline_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(deadline_.time_since_epoch()).count();
  // Open loop: requests per second of this connection -> interval.
  const double per_conn_rate = cfg_.rate / cfg_.connections / batch;
  const double interval_ns = cfg_.open_loop() ? 1e9 / per_conn_rate : 0;
  bool waited_for_room = false;  // open loop: the next send waited for a full window

  while (result_.requests < max_requests && !shared_.stop.load(std::memory_order_relaxed)) {
    int64_t now = steady_ns();
    int64_t sent_at = now;
    if (outstanding >= cfg_.window && now - std::max(last_reply_ns, gave_up_all_ns) > stall_ns) {
      if (gave_up_all_ns <= last_reply_ns) {
        // A full window and no reply for stall_ns: rill-core lost these
        // requests (it was restarted, or stopped for a while). Give them
        // all up and go on: a restarted rill-core answers the next ones.
        give_up_sent_before(INT64_MAX);
        gave_up_all_ns = now;
        continue;
      }
      // Again, and nothing came since the last time: the server is gone.
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.1f", static_cast<double>(now - last_reply_ns) / 1e9);
      result_.fatal = "no reply from " + endpoint_ + " for " + secs +
                      " s (twice --drain-timeout) with " + std::to_string(outstanding) +
                      " requests in flight";
      break;
    }
    give_up_sent_before(now - stall_ns);  // unanswered for stall_ns
    if (cfg_.open_loop()) {
      const int64_t intended =
          start_ns + static_cast<int64_t>(static_cast<double>(result_.requests) * interval_ns);
      // Past the deadline nothing more is sent, also when a full window held
      // the sends back (their intended times never came round).
      if (commands_ == 0 && (intended >= deadline_ns || now >= deadline_ns)) break;
      if (now < intended || outstanding >= cfg_.window) {
        // Not due yet (or no room): handle replies meanwhile, sleeping in
        // the socket's poll until the next send is due. Never spin: on a
        // 2-CPU host a spinning load generator takes a whole CPU from the
        // daemon it measures (at 20k/s the command -> feed p50 was 1.7 ms
        // with the old spin-and-yield loop, against 0.1 ms at 2k/s).
        if (outstanding >= cfg_.window) {
          if (now >= intended) waited_for_room = true;
          pc.poll(on_reply, 100ms);
        } else if (intended - now > 2'000) {
          pc.poll_until(on_reply, steady_from_ns(intended));
        } else {
          pc.poll(on_reply, 0ms);
        }
        continue;
      }
      sent_at = intended;
    } else {
      if (commands_ == 0 && now >= deadline_ns) break;
      if (outstanding >= cfg_.window) {
        // --spin-us: look for the reply without sleeping first (saves the
        // wake-up of a blocking poll, at the price of a busy CPU).
        if (cfg_.spin_us > 0) {
          const int64_t until = now + int64_t{cfg_.spin_us} * 1000;
          while (pc.poll(on_reply, 0ms) == 0 && steady_ns() < until) {
          }
          if (outstanding < cfg_.window) continue;
        }
        pc.poll(on_reply, 100ms);
        continue;
      }
    }
    slot& s = slots[req & (ring - 1)];
    if (s.state == kWaiting) {  // the ring came round to a request still waiting
      pc.poll(on_reply, 10ms);  // answered, or given up after stall_ns
      continue;
    }
    if (s.state == kGivenUp) s.state = kFree;  // too late now to match its reply
    // The last request of a --count may be a shorter batch: exactly the
    // commands asked for are sent.
    const uint32_t size = commands_ == 0 ? batch
                                         : static_cast<uint32_t>(std::min<uint64_t>(
                                               batch, commands_ - result_.requests * batch));
    auto body = work.next(req, stamp ? sent_at : 0, size);
    s = slot{req, sent_at, steady_ns(), size, kWaiting};
    if (cfg_.open_loop()) {
      result_.send_lag.record(static_cast<uint64_t>(std::max<int64_t>(0, s.actual_ns - sent_at)));
      if (waited_for_room) ++result_.window_waits;
      waited_for_room = false;
    }
    if (!pc.submit(body, on_reply, 10s)) {
      s.state = kFree;
      result_.fatal = "could not send to " + endpoint_;
      break;
    }
    ++outstanding;
    ++req;
    ++result_.requests;
    result_.commands_sent += size;
    if (cfg_.open_loop()) pc.poll(on_reply, 0ms);
  }
  const bool stopped = shared_.stop.load(std::memory_order_relaxed);
  if (cfg_.open_loop() && commands_ == 0 && result_.fatal.empty() && !stopped) {
    // Sends whose intended time came before the deadline but that never
    // went out (the window was full, or the generator fell behind).
    const double due = std::ceil(static_cast<double>(deadline_ns - start_ns) / interval_ns);
    if (due > static_cast<double>(result_.requests))
      result_.unsent = static_cast<uint64_t>(due) - result_.requests;
  }
  // The last replies: until none is waiting, or the drain timeout.
  const int64_t drain_until = steady_ns() + stall_ns;
  while (outstanding > 0 && !shared_.stop.load(std::memory_order_relaxed)) {  // Ctrl-C: no wait
    const int64_t now = steady_ns();
    if (now >= drain_until) break;
    pc.poll(on_reply, std::chrono::milliseconds(
                          std::clamp<int64_t>((drain_until - now) / 1'000'000, 1, 100)));
  }
  result_.lost = outstanding + result_.gave_up;
  result_.end_ns = last_reply_ns;
  result_.customers = work.customers_created();
}

}  // namespace rill::cli
