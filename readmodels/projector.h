#pragma once
// projector: the projector thread of rill-proj. It applies events to every
// hosted read model strictly in seq order, answers their queries, reports
// their changes, ticks sagas, takes snapshots and swaps in rebuilt models.
//
// Where events come from:
// - journal source (same host): the journal is the data path. The projector
//   reads it directly (zero copy from the mapping) every loop turn; the feed
//   only wakes it up (and tells it the head) when it sleeps.
// - replay source (another host): the feed is the data path. An event with
//   seq = applied + 1 is applied as it comes; a gap, the start and a quiet
//   feed (every replay_check_interval) are filled from the replay endpoint.
// Either way a feed event at or below the applied seq is dropped.
//
// Start: load each model's newest valid snapshot (checked against the
// journal), then catch up from the lowest applied seq, in batches of
// apply_batch events between which queries are served (a query with `after`
// waits; one without is answered at once with the state so far).
//
// Ownership: owns the slots (models, query sockets, snapshot stores,
// rebuild jobs), its event sources, the change reporter and the snapshot
// writer thread. Borrows the context, the feed receiver and the doorbell.
// Thread-safety: construct anywhere; run() creates every socket and must be
// called on the thread that then runs the loop. stop is the only input
// from other threads.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "core/buffer.h"
#include "readmodels/change_reporter.h"
#include "readmodels/event_filter.h"
#include "readmodels/event_source.h"
#include "readmodels/projector_decode.h"
#include "readmodels/projector_slot.h"
#include "readmodels/runtime_doorbell.h"
#include "readmodels/runtime_feed.h"
#include "readmodels/runtime_options.h"
#include "readmodels/snapshot_writer.h"
#include "transport/security.h"

namespace rill::readmodels {

class bell_watch;

struct projector_env {
  zmq::context_t* ctx = nullptr;
  feed_receiver* feed = nullptr;  // may be null (no feed: the journal source only)
  doorbell* bell = nullptr;
  const bell_watch* watch = nullptr;  // the journal's bell, when the source is local
  event_source_factory source;                             // creates a source on the calling thread
  bool local_source = true;                                // journal (true) or replay (false)
  const transport::server_security* server_sec = nullptr;  // tcp:// query endpoints
  const transport::client_security* client_sec = nullptr;  // tcp:// notify-in
  std::chrono::system_clock::time_point (*wall_clock)() = &std::chrono::system_clock::now;
  std::atomic<bool>* ready = nullptr;  // set once the query endpoints are bound
};

class projector {
 public:
  using clock = std::chrono::steady_clock;

  // `opt` must be validated and resolved for the models' names.
  projector(runtime_options opt, std::vector<std::unique_ptr<read_model>> models,
            projector_env env);
  ~projector();
  projector(const projector&) = delete;
  projector& operator=(const projector&) = delete;

  // Opens everything and runs the loop until `stop` is set; then writes the
  // final snapshots. Returns 0 on a clean stop, 1 after a fatal error (a
  // model threw while applying, a query endpoint could not be bound).
  int run(const std::atomic<bool>& stop);

 private:
  // Start and stop (projector_snapshots.cc).
  void open();
  void load_snapshot(projector_slot& s, uint64_t head);
  void schedule_snapshots(clock::time_point now, bool force);
  bool take_snapshot(size_t i, clock::time_point now, bool sync);
  void collect_snapshot_results();
  static uint32_t snapshot_backoff_s(uint32_t failures);
  // A periodic snapshot starts no sooner than this many times the last
  // one's duration after that one started (at most ~5% of the time).
  static constexpr int kSnapshotGapFactor = 20;
  static void snapshot_failed(projector_slot& s, clock::time_point now);
  // No snapshot of the slot starts before this: its failure back-off and
  // the gap rule (kSnapshotGapFactor).
  static clock::time_point snapshot_earliest(const projector_slot& s);
  // When the slot's next snapshot is due by time (periodic, or wanted after
  // a rebuild or a failure); time_point::max() when none is.
  clock::time_point snapshot_due_at(const projector_slot& s) const;
  void final_snapshots();

  // The loop (projector.cc).
  bool take_feed();
  bool catch_up(clock::time_point now);
  bool apply_event(uint64_t seq, std::span<const char> body);
  void finish_batch(clock::time_point now, bool caught_up);
  bool serve_queries(clock::time_point now);
  // True when a tick did work (it reported changed keys): the loop then
  // goes round again at once instead of sleeping until the next tick.
  bool tick_sagas(clock::time_point now, bool force);
  void idle(clock::time_point now);
  void sample_rate(clock::time_point now);
  bool source_error(source_status s, event_source& src, clock::time_point now);
  uint64_t min_applied() const;

  // Rebuilds (projector.cc).
  void step_rebuilds(clock::time_point now);
  bool start_rebuild(projector_slot& s, std::string& why);

  // Queries (projector_queries.cc).
  void answer(projector_slot& s, const query_request& rq, out_buffer& out);
  void write_status(projector_slot& s, msgpack::packer<out_buffer>& pk);
  uint64_t known_head();
  uint64_t lag_ms(const projector_slot& s, uint64_t head);
  event_source* aux_source();

  runtime_options opt_;
  projector_env env_;
  std::vector<std::unique_ptr<projector_slot>> slots_;
  std::unique_ptr<event_source> source_;
  std::unique_ptr<event_source> aux_;  // status probes, snapshot checks, rebuild hand-over
  std::unique_ptr<change_reporter> reporter_;
  std::unique_ptr<snapshot_writer> writer_;
  // The state a rebuild replaced, freed on another thread: freeing millions
  // of entries held the projector thread (and every query) for up to 200 ms
  // at the swap. Waited for at the next swap and when the projector goes.
  std::future<void> retired_;
  event_filter filter_;  // the kinds no hosted model reads are not decoded
  event_decoder decoder_;
  event_view view_;
  std::string why_;

  // Source state.
  uint64_t applied_ = 0;       // min over slots: the source reads from applied_ + 1
  bool started_ = false;       // the first catch-up reached the end
  // The journal's head when we started (0: unknown). Sagas are not ticked
  // before the models have applied it (or reached the end): a tick during
  // the catch-up acts on a past state, and sends commands the live saga
  // never sent (intermediate ratings, rates long since set).
  uint64_t start_head_ = 0;
  bool need_catch_up_ = true;  // replay source: a gap, the start or a tail check
  bool have_peek_ = false;     // journal source: one event read ahead by idle()
  source_event peek_;
  clock::time_point source_retry_at_{};  // after an error, wait until then
  std::string source_error_;
  clock::time_point last_error_log_{};
  clock::time_point last_tail_check_{};
  clock::time_point last_activity_{};
  clock::time_point last_report_{};
  uint64_t feed_head_ = 0;       // highest seq seen on the feed
  uint64_t source_head_ = 0;     // last head the source reported
  uint64_t events_skipped_ = 0;  // events that did not decode
  bool applied_this_turn_ = false;

  // Rate.
  clock::time_point rate_at_{};
  uint64_t rate_events_ = 0, total_events_ = 0;
  double rate_ = 0;

  std::vector<zmq::message_t> feed_batch_;
  std::vector<zmq::pollitem_t> poll_items_;
  clock::time_point started_at_;
  bool fatal_ = false;
};

}  // namespace rill::readmodels
