#pragma once
// runtime_options: every setting of the projection runtime (rill-proj), with
// its default and its check. validate() is called once at start; the daemon
// fills the struct from its config file and flags (daemons/rill_proj/).
//
// Endpoints left empty are resolved from the data directory by
// resolved() (PROTOCOL.md "Endpoints"):
//   events     ipc://D/run/events       SUB: the live event feed
//   replay     ipc://D/run/replay       used when the journal is not local
//   notify_in  ipc://D/run/notify-in    PUSH: change reports ("none" = off)
//   model      ipc://D/run/model.<name> ROUTER: queries, one per model
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/limits.h"

namespace rill::readmodels {

struct runtime_options {
  // The data directory D: the journal is D/journal, snapshots D/models/<name>/.
  std::filesystem::path data_dir = "rill-data";

  // Endpoints (empty = the default for D; see above).
  std::string events_endpoint;
  std::string replay_endpoint;
  std::string notify_in_endpoint;                      // "none" disables change reports
  std::map<std::string, std::string> model_endpoints;  // model name -> query endpoint

  // Where stored events come from: "auto" = the journal directory when it is
  // readable and `replay` is not tcp://, else the replay endpoint;
  // "journal" / "replay" force one.
  std::string source = "auto";

  // Snapshots: after this many events applied since the last one (0 = never
  // by count), or this many seconds after the last one if something changed
  // (0 = never by time). Either way no sooner than kSnapshotGapFactor times
  // the last snapshot's duration after it started, so a model spends at most
  // about 5% of the time snapshotting however large its state grows. A
  // snapshot writes the whole state: larger values cost longer catch-ups
  // after a crash (a few seconds for 5M events; models rebuild at 3-7M
  // events/s), smaller ones rewrite the state more often (an outside soak:
  // every 100k events wrote 18 times the journal's bytes in snapshots, and
  // the writes showed in every model's latency tail).
  uint64_t snapshot_every = 5'000'000;
  double snapshot_seconds = 300;
  size_t snapshots_kept = 2;   // newest valid snapshots kept per model (1..100)
  bool final_snapshot = true;  // write one at a clean stop if something changed

  // The feed queue between the receive thread and the projector (events).
  // A full queue drops events (the projector reads them from the journal).
  size_t feed_queue = 65'536;
  // Events applied per loop turn before queries are served again. Larger
  // batches apply faster during catch-up; smaller ones answer sooner.
  size_t apply_batch = 8'192;
  // Threads a `rebuild` uses (1 or 2). With 2, one reads the journal while
  // the other decodes and applies (split_apply.h): measured 1.1-1.4x faster
  // on 2 vCPUs (bench/RESULTS.md), at the cost of the second CPU while the
  // rebuild runs, which on a small host is the CPU rill-core and the other
  // models need. The replay source always rebuilds on one thread.
  unsigned rebuild_threads = 1;
  // How often the journal tail is checked when the feed is quiet (journal
  // source; cheap). The replay source is asked at replay_check_interval.
  std::chrono::milliseconds tail_check_interval{5};
  std::chrono::milliseconds replay_check_interval{200};
  // After the last activity, the projector polls its inputs this long
  // before it sleeps in zmq_poll (catches the next query or burst without a
  // wake-up; costs up to this much CPU per quiet spell). Off by default: on
  // 2 vCPUs, where rill-core, several rill-proj and the clients share the
  // CPUs, the spin took them from the others (at 20k commands/s, 50 us cost
  // rill-proj 24% more CPU, and the ack p50 was 5% higher; bench/RESULTS.md,
  // session 12). A quiet host with a spare core serves back-to-back queries
  // faster with 50 (p50 ~55 vs ~100 us in bench_projection).
  std::chrono::microseconds idle_spin{0};
  // Same-host journal: after the bell watcher rings the projector, it lets
  // this long pass before it rings again (interrupt coalescing). An event
  // after a quiet spell wakes the projector at once; under a steady load it
  // wakes at most once per window and applies what came meanwhile. A query
  // with `after` wakes the projector itself, so read-your-writes does not
  // wait for the window; change reports and plain queries may lag by up to
  // it. 0: ring on every publish. With one rill-proj per model on 2 vCPUs,
  // a wake-up per event per process saturated the machine at 5k commands/s;
  // 1 ms cut their CPU by 37-44% and every p50 latency (bench/RESULTS.md,
  // session 12).
  std::chrono::microseconds wake_coalesce{1000};
  // Sagas: tick() at least this often (every loop turn while busy()).
  std::chrono::milliseconds saga_tick_interval{10};

  // Queries.
  limits query_limits;  // request size (too_large), depth, elements
  uint64_t default_query_timeout_ms = 1'000;
  uint64_t max_query_timeout_ms = 60'000;  // larger timeout_ms values are clamped
  size_t max_parked_queries = 100'000;     // queries waiting for `after`, per model
  size_t max_parked_query_bytes = 64u << 20;  // their bytes, per model
  // Bytes of replies queued for one client and not yet written to its
  // connection, per model endpoint (transport::server_options::max_peer_bytes):
  // past it the model waits for the client to read, as for a full pipe.
  size_t max_queued_reply_bytes = 64u << 20;

  // Periodic snapshots (and the one after a rebuild) are taken in a forked
  // child, so the projector thread does not pay for save() either
  // (snapshot_writer.h); false, or a failed fork: save() on this thread.
  // The snapshot at a clean stop is always taken in process.
  bool snapshot_fork = true;

  // Each hosted model's settings (model_config::settings) as canonical JSON
  // text; a model not listed has "{}". Recorded next to its snapshots: a
  // snapshot taken under other settings is not used (snapshot_store).
  std::map<std::string, std::string> model_settings;

  // Change reports: distinct keys per report before it says "whole model".
  size_t max_report_keys = 1'000;
  int report_hwm = 1'000;  // reports queued for a slow notifier

  // Replay source.
  uint32_t replay_page = 4'096;
  std::chrono::milliseconds replay_timeout{2'000};

  // CURVE (tcp:// endpoints): our key pair (server key for tcp query
  // endpoints, client key towards tcp feed/replay/notify-in), the clients
  // allowed on tcp query endpoints, and the public key of the servers we
  // connect to over tcp (rill-core, rill-notify).
  std::string curve_key_file;
  std::string curve_allow_file;
  std::string curve_server_key_file;

  // Throws std::invalid_argument naming the bad field.
  void validate() const;

  // A copy with every empty endpoint filled in for `models`.
  runtime_options resolved(const std::vector<std::string>& models) const;
};

}  // namespace rill::readmodels
