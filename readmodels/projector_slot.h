#pragma once
// projector_slot: everything the projector keeps for one hosted read model:
// the live instance and its applied seq, the changes of the current batch,
// its query endpoint, its snapshots and a rebuild in progress.
//
// Ownership: owns all of it. Thread-safety: the projector thread only,
// except `target`, which a rebuild thread reads.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "readmodels/change_reporter.h"
#include "readmodels/projector_rebuild.h"
#include "readmodels/query_server.h"
#include "readmodels/read_model.h"
#include "readmodels/saga.h"
#include "readmodels/snapshot_store.h"

namespace rill::readmodels {

struct projector_slot {
  using clock = std::chrono::steady_clock;

  projector_slot(std::unique_ptr<read_model> m, size_t max_report_keys)
      : name(m->name()), live(std::move(m)), live_saga(live->as_saga()), batch(max_report_keys) {}

  std::string name;
  std::unique_ptr<read_model> live;
  saga* live_saga = nullptr;    // live->as_saga(), cached
  uint64_t applied = 0;         // last seq applied to `live`
  uint64_t last_ts = 0;         // ts of that event (0: it did not decode)
  uint64_t events_applied = 0;  // by this process, to any instance that went live

  change_set changes;  // filled by apply()/tick(), drained per event
  change_batch batch;  // deduplicated keys since the last report

  std::unique_ptr<query_server> queries;
  query_server::handler handler;  // bound once, used for every request

  // Snapshots.
  std::unique_ptr<snapshot_store> snapshots;
  uint64_t snapshot_seq = 0;        // newest durable snapshot (0 = none)
  uint64_t taken_seq = 0;           // newest snapshot taken (durable or being written)
  uint64_t loaded_seq = 0;          // the snapshot loaded at start, and its
  uint64_t loaded_fingerprint = 0;  //   event fingerprint (snapshot_format.h)
  clock::time_point last_snapshot;  // when it was taken (or when we started)
  clock::duration snapshot_cost{};  // how long the last one took, start to durable
  bool saga_progress = false;       // a saga did work since the last snapshot
  std::string snapshot_error;       // last failure, for status
  uint32_t snapshot_failures = 0;   // failures in a row (status); reset by a success
  clock::time_point snapshot_retry_at{};  // after a failure, no new attempt before this
  bool snapshot_wanted =
      false;                // one is due whatever the count and the time (a rebuild's, a retry)
  uint64_t rebuilt_at = 0;  // seq of the last rebuild's swap: older snapshots are stale

  // Rebuild: a background job, then a pending instance being handed over.
  std::atomic<uint64_t> target{0};  // = applied, for the rebuild thread
  std::unique_ptr<rebuild_job> job;
  std::unique_ptr<read_model> pending;
  uint64_t pending_applied = 0;
  uint64_t rebuilds = 0;      // completed swaps
  std::string rebuild_error;  // last failure, for status
  clock::time_point rebuild_started;

  // Sagas.
  clock::time_point next_tick;
};

}  // namespace rill::readmodels
