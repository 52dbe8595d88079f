#pragma once
// Options of a journal writer. Validated once by journal_writer::open().
#include <cstdint>
#include <filesystem>
#include <functional>

#include "store/sync_mode.h"

namespace rill::store {

// How flush() makes records durable. fdatasync on the segment files measured
// faster than msync(MS_SYNC) of the dirty range here (bench/bench_journal.cc),
// so it is the default.
enum class flush_call : uint8_t { fdatasync, msync };

struct journal_options {
  // The journal directory; created if missing (mode 0700).
  std::filesystem::path dir;
  // Size of each segment file; rounded up to the page size; at least 64 KiB,
  // at most 1 TiB. An existing journal keeps the size its segments have; this
  // applies to segments created from now on.
  uint64_t segment_size = 256ull << 20;
  // none / batch / interval:MS; see sync_mode.h.
  sync_mode sync;
  // Bytes mapped-and-touched ahead of the write position by a background
  // thread, so appends never page-fault; the next segment file is prepared
  // (created, allocated, mapped) before the current one is full. 0 turns the
  // background thread off (appends then fault pages in and create segment
  // files themselves). Larger values absorb longer bursts and cost page cache.
  uint64_t prefault_ahead = 32ull << 20;
  // The system call flush() uses.
  flush_call flush_with = flush_call::fdatasync;
  // Clock for segment headers, ns since the Unix epoch; empty = system clock.
  std::function<uint64_t()> clock;
};

}  // namespace rill::store
