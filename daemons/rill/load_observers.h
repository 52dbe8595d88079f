#pragma once
// Observers of a `rill load` run, each on its own thread with its own socket:
//
//   feed_watcher  (--visible) a SUB socket on the event feed. Commands sent
//                 with --visible carry corr "<run tag>:<intended send ns>";
//                 for each such event it records now - that stamp: command
//                 -> event visible to subscribers. PUB/SUB may drop under
//                 load; `received` says how many events it saw.
//   journal_watcher (--visible-journal) the same measure for a reader of
//                 rill-core's journal on this host
//                 (transport::journal_subscriber, woken by the journal's
//                 bell): command -> event visible to a same-host tailer. It
//                 reads every event; none is dropped.
//   after_probe   (--after-model NAME) a client of its own, on top of the
//                 load: sends a command (from the same mix), waits for its
//                 acknowledgement, then asks the model for `status` with
//                 `after` = that seq, and records the time from sending the
//                 command to the model's answer: read-your-writes as one
//                 client sees it. At most one sample per millisecond (its
//                 commands add at most 1,000/s to the load).
//   note_watcher  (--notified NAME) watches the whole model NAME on the
//                 notifier (transport::notify_client) and logs, for each
//                 note that raises the highest seq noted so far, that seq
//                 and its arrival time. After the run match_notes() gives
//                 each acknowledged request (its highest seq S, its intended
//                 send time) the latency until the first note for the model
//                 with seq >= S: command -> a watching client is told. Notes
//                 coalesce (to the newest seq per key, or to one whole-model
//                 note), so this is when a client learns the model covers
//                 the command, not a note about that command's own key.
//
// Ownership: borrow the context and shared state, which must outlive them.
// Thread-safety: start()/finish() from the owning thread; the results only
// after finish().
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <future>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "daemons/rill/load_histogram.h"
#include "daemons/rill/load_worker.h"
#include "transport/journal_subscriber.h"

namespace rill::cli {

// What feed_watcher and journal_watcher share: picking this run's events,
// timing them, and knowing when to stop. The derived class owns the thread
// and must finish() in its destructor.
class stamped_events {
 public:
  // Stops after `linger_ms` more of quiet or once `expected` events arrived.
  void finish(uint64_t expected = 0, int linger_ms = 0);
  const latency_histogram& latency() const { return hist_; }
  uint64_t received() const { return received_; }

 protected:
  explicit stamped_events(std::string run_tag) : prefix_(std::move(run_tag) + ":") {}
  ~stamped_events() = default;
  // An event body arrived at `now`: timed if it is one of this run's.
  void seen(std::span<const char> body, int64_t now);
  // Asked on a quiet turn: true when the thread should end.
  bool done() const;
  std::thread thread_;

 private:
  std::string prefix_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> expected_{0};
  std::atomic<int64_t> stop_after_ns_{0};
  int64_t last_seen_ = steady_ns();
  latency_histogram hist_;
  uint64_t received_ = 0;
};

class feed_watcher : public stamped_events {
 public:
  feed_watcher(zmq::context_t& ctx, std::string events_ep, std::string run_tag);
  ~feed_watcher() { finish(); }
  // Connects and subscribes; returns once the subscription is likely in
  // place (PUB/SUB has no handshake: a short settle time).
  void start();

 private:
  void loop();
  zmq::context_t& ctx_;
  std::string ep_;
};

class journal_watcher : public stamped_events {
 public:
  journal_watcher(std::filesystem::path journal_dir, std::string run_tag);
  ~journal_watcher() { finish(); }
  // Positions after the journal's current head and starts the thread.
  void start();

 private:
  void loop(transport::journal_subscriber& sub);
  std::filesystem::path dir_;
};

class after_probe {
 public:
  after_probe(zmq::context_t& ctx, std::string command_ep, std::string model_ep, std::string model,
              const load_config& cfg, std::string run_tag);
  ~after_probe() { finish(); }
  void start();
  void finish();
  const latency_histogram& latency() const { return hist_; }
  uint64_t timeouts() const { return timeouts_; }
  uint64_t errors() const { return errors_; }
  uint64_t commands() const { return commands_; }  // the probe's own, acknowledged

 private:
  void loop();
  zmq::context_t& ctx_;
  std::string command_ep_, ep_, model_;
  load_config cfg_;
  std::string run_tag_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  latency_histogram hist_;
  uint64_t timeouts_ = 0, errors_ = 0, commands_ = 0;
};

// A note that raised the highest seq noted for the model, and when it came.
struct note_mark {
  uint64_t seq = 0;
  int64_t at_ns = 0;
};

class note_watcher {
 public:
  note_watcher(zmq::context_t& ctx, std::string notify_ep, std::string model);
  ~note_watcher() { finish(0, 0); }
  // Connects and watches the model; false with `error` if the notifier did
  // not acknowledge the watch within 3 s (the thread is then stopped).
  bool start(std::string& error);
  // Stops once a note with seq >= `target` came, or after `quiet_ms` without
  // a note, or `max_ms` after the call.
  void finish(uint64_t target, int quiet_ms, int max_ms = 0);
  // Increasing in seq and time; valid after finish().
  const std::vector<note_mark>& marks() const { return marks_; }
  uint64_t notes() const { return notes_; }
  uint64_t resyncs() const { return resyncs_; }

 private:
  void loop(std::promise<std::string> ready);
  zmq::context_t& ctx_;
  std::string ep_, model_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> target_{0};
  std::atomic<int64_t> quiet_ns_{0}, stop_at_ns_{0};
  std::vector<note_mark> marks_;
  uint64_t notes_ = 0, resyncs_ = 0;
};

// For each acknowledged request, the time from its send to the first mark
// with seq >= its seq; requests no mark covers are counted in `missing`.
latency_histogram match_notes(std::span<const note_mark> marks,
                              std::span<const acked_request> acked, uint64_t& missing);

}  // namespace rill::cli
