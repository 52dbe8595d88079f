#pragma once
// peer_common: what the Redis and PostgreSQL sides of `peer-load` share: the
// options of one run, the result it reports, the event payload, the clock.
//
// The payload is a msgpack map shaped like one of rill's CUSTOMER_CREATED
// events ({ts, agg, type, id, ver, data: {name, email, country}}, ~150
// bytes). It is encoded once; each event only patches its id (12 digits,
// three places) and its timestamp (uint64 nanoseconds of CLOCK_MONOTONIC,
// the intended send time in the latency row) in place.
//
// Thread-safety: plain data and pure functions; an event_payload is used by
// one thread.
#include <poll.h>
#include <sys/prctl.h>
#include <time.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemons/rill/load_histogram.h"

namespace rill::peers {

using latency_histogram = rill::cli::latency_histogram;

// One run of peer-load: which system, which row, and how hard.
struct peer_options {
  std::string system;               // redis | postgres
  std::string row;                  // one | pipelined | durable | latency | catchup
  std::string host = "127.0.0.1";
  int port = 0;                     // 0: 6379 (redis) or 5432 (postgres)
  std::string dbname = "postgres";  // postgres only
  std::string user = "postgres";    // postgres only
  double duration_s = 5;            // throughput and latency rows
  uint32_t batch = 64;              // events per pipeline / transaction
  double rate = 20000;              // latency row: events/s, open loop
  uint64_t events = 1'000'000;      // catchup row: events stored, then read
  uint32_t page = 10000;            // catchup row: events per page
  uint32_t passes = 2;              // catchup row: read passes (the last is reported)
};

// What a run measured. Latency is per request: per event (one), per
// pipeline / transaction of `batch` events (pipelined, durable), intended
// send -> received by the subscriber (latency).
struct peer_result {
  uint64_t events = 0;
  uint64_t failed = 0;
  double elapsed_s = 0;
  latency_histogram latency;
  nlohmann::json notes = nlohmann::json::object();  // system settings, method
  std::string fatal;                                // non-empty: the run failed

  double throughput() const { return elapsed_s > 0 ? static_cast<double>(events) / elapsed_s : 0; }
};

inline int64_t mono_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The open-loop senders wait for their next send time the way `rill load`
// does: asleep in ppoll on the connection (woken early by a reply to read),
// with 1 us of timer slack, never spinning. On 2 CPUs a spinning client
// takes a CPU from the server it measures, so both sides must wait alike.
inline void precise_timer_slack() { ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0); }
inline void wait_readable_until(int fd, int64_t until_ns) {
  const int64_t left = until_ns - mono_ns();
  if (left <= 0) return;
  timespec ts{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
  pollfd p{fd, POLLIN, 0};
  (void)::ppoll(&p, 1, &ts, nullptr);
}

// The msgpack bytes of one event, patched in place per event.
class event_payload {
 public:
  event_payload();
  // Sets the id digits to `n` (mod 10^12) and the timestamp to `ts_ns`.
  void set(uint64_t n, uint64_t ts_ns);
  const std::string& bytes() const { return bytes_; }
  // The timestamp stored in `data` (an event's bytes); 0 if too short.
  static uint64_t read_ts(const char* data, std::size_t size);

 private:
  std::string bytes_;
  std::vector<std::size_t> id_at_;  // offsets of the 12 id digits
};

// {"count", "min", "mean", "p50", "p90", "p99", "p999", "max"} in microseconds.
nlohmann::json latency_json(const latency_histogram& h);

// Runs opt.row against Redis / PostgreSQL.
peer_result run_redis(const peer_options& opt);
peer_result run_postgres(const peer_options& opt);

}  // namespace rill::peers
