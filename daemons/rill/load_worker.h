#pragma once
// load_worker: one `rill load` connection. Runs on its own thread with its
// own DEALER (transport::pipeline_client) and sends requests either
//   closed loop: keeping `window` requests in flight, each timed from the
//                moment it is sent; or
//   open loop:   at a fixed rate, each request timed from the moment it was
//                scheduled to go out (its intended send time), so a stalled
//                server shows up in the latency rather than silently slowing
//                the load down (no coordinated omission). The window still
//                caps what is in flight; a request that waits for room is
//                late, and its lateness counts.
// Stops after its share of the commands or at the deadline, or when `stop`
// is set, then waits up to cfg.drain_timeout_s for the outstanding replies.
//
// Ownership: borrows the context, config and shared counters, which must
// outlive run(). Thread-safety: run() on one thread; worker_shared (atomics)
// is the only state shared.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "daemons/rill/load_config.h"
#include "daemons/rill/load_histogram.h"

namespace rill::cli {

struct acked_request {
  uint64_t seq = 0;
  int64_t sent_ns = 0;
};

struct worker_result {
  latency_histogram latency;   // per request (a batch is one request)
  // Open loop: how late each request left the generator (actual send time
  // minus intended). Large values mean the generator, not the server, is
  // behind: its sleeps wake late or it has no CPU.
  latency_histogram send_lag;
  uint64_t requests = 0;       // sent
  uint64_t commands_sent = 0;  // commands in them
  uint64_t replies = 0;        // received and matched
  uint64_t ok = 0;             // commands that succeeded
  uint64_t failed = 0;         // commands that failed
  uint64_t lost = 0;           // requests never answered within the drain timeout
  uint64_t gave_up = 0;        // of those, given up during the run (their place reused)
  uint64_t late = 0;           // replies that came after their request was given up
  // Open loop: sends that found the window full when they were due (their
  // lateness is the server's back-pressure, and shows in send_lag too), and
  // sends due before the deadline that never went out.
  uint64_t window_waits = 0;
  uint64_t unsent = 0;
  int64_t end_ns = 0;          // steady_ns() of the last reply (or of the start)
  uint64_t malformed = 0;      // replies that could not be read or matched
  uint64_t customers = 0;      // customers created (for updates/orders)
  std::map<std::string, uint64_t, std::less<>> errors;  // error code -> commands
  std::string fatal;           // why the connection gave up, if it did
  // --notified: the highest seq each acknowledged request got and its
  // (intended) send time, in acknowledgement order; at most
  // worker_shared::max_acked per connection.
  std::vector<acked_request> acked;
};

// The last acknowledged seq and the intended send time of its command, for
// the `--after-model` probe. Written by the workers, read by the probe, which
// sleeps until a newer one arrives (so a sample starts at the acknowledgement,
// not up to a polling interval after it).
struct worker_shared {
  std::atomic<uint64_t> commands_done{0};  // acknowledged commands, all workers
  std::atomic<bool> stop{false};
  // --notified: each worker keeps up to this many acked_request (0: none).
  size_t max_acked = 0;
};

class load_worker {
 public:
  load_worker(zmq::context_t& ctx, std::string endpoint, const load_config& cfg,
              std::string run_tag, uint32_t index, uint64_t commands,
              std::chrono::steady_clock::time_point start,
              std::chrono::steady_clock::time_point deadline, worker_shared& shared);

  // Runs the connection to completion. Not thread-safe; call once.
  void run();
  worker_result& result() { return result_; }

 private:
  zmq::context_t& ctx_;
  std::string endpoint_;
  const load_config& cfg_;
  std::string run_tag_;
  uint32_t index_;
  uint64_t commands_;  // this connection's share (0: until the deadline)
  std::chrono::steady_clock::time_point start_, deadline_;
  worker_shared& shared_;
  worker_result result_;
};

// Nanoseconds of the steady clock (the same clock in every thread).
inline int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
inline int64_t steady_ns_of(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline std::chrono::steady_clock::time_point steady_from_ns(int64_t ns) {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::nanoseconds(ns)));
}

}  // namespace rill::cli
