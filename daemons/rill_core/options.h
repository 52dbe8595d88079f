#pragma once
// rill-core's options: one struct, every field with its default and its
// check, validated once at start; overridable from a JSON config file
// (--config, same names as the fields, at the top level or in a "core"
// section; other daemons' keys are passed over, see
// daemons/common/shared_config.h) and then from flags, which win.
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/limits.h"
#include "store/sync_mode.h"

namespace rill::daemon {

struct core_options {
  std::filesystem::path data = "rill-data";  // data directory D
  std::string schema;                        // schema file; empty = the default domain
  store::sync_mode sync;                     // none | batch | interval:MS
  std::string command, events, replay;       // endpoints; empty = ipc://D/run/<name>
  uint64_t segment_size = 256ull << 20;      // journal segment size (bytes)
  uint64_t prefault_ahead = 32ull << 20;     // bytes kept mapped ahead of the writer
  limits lim;                                // request size, batch size, id/key lengths
  size_t max_keys = 4'000'000;               // idempotency keys retained
  size_t drain_max = 2048;                   // requests handled per drained batch
  // ... and request bytes: a drained batch stops taking requests once it
  // holds this many bytes (at least one request). 2,048 batches of 4,096
  // commands made one turn of 8M commands: seconds in which no other client
  // was answered, and a gigabyte held (an outside probe).
  size_t drain_max_bytes = 1u << 20;
  uint32_t busy_poll_us = 0;                 // spin on the socket this long before blocking (0: on 2 cores the spin steals the client's CPU; bench/RESULTS.md)
  uint64_t checkpoint_every = 1'000'000;     // events between index checkpoints (0 = only at exit)
  uint32_t checkpoint_interval_s = 10;       // and at least this long between two (0 = no limit)
  // Events queued for one feed subscriber before the feed drops for it (it
  // then fills the gap from the journal). Memory per stalled subscriber is
  // this times the event size: lower it when events are large.
  int events_hwm = 100'000;
  // Bytes of replies queued for one client and not yet written to its
  // connection (batch and error replies; the small acknowledgements are
  // bounded by count instead). Past it rill-core waits for that client as
  // for a full pipe, once, then drops its replies until it reads again.
  uint64_t max_queued_reply_bytes = 64ull << 20;
  std::string curve_key;                     // server key file (needed for tcp:// endpoints)
  std::string curve_allow;                   // allow-list of client public keys
  std::string log_level = "info";
};

// Parses flags (and --config FILE) into `out`. Returns 0 to go on, or the
// exit code (0 after --help, 2 on a usage error, with the message printed).
int parse_core_options(int argc, char** argv, core_options& out);

}  // namespace rill::daemon
