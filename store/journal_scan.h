#pragma once
// journal_scan: the read-only scan of a journal directory shared by recovery
// (journal_writer::open) and verify_journal. It follows the record chain
// from the first segment, finds where the log ends, classifies what lies
// beyond (torn record, garbage, an unpublished group's leftovers, empty
// preallocated segments) and decides whether that is a droppable tail or
// corruption before the tail. It never writes; the repairs it lists are
// applied by apply_repairs() (journal_recovery.h) under the writer's lock.
//
// Rules (docs/journal-format.md, "Recovery"):
//  - A zero commit word ends the log; non-zero bytes after it in that
//    segment are garbage. Later segments holding records are leftovers of an
//    unpublished group if that segment holds a committed end marker after
//    the end, else corruption.
//  - A bad record (length, seq, checksum) with no valid record after it (in
//    its segment or at the start of a later one) is a torn tail; with one,
//    corruption.
//  - A missing segment file between files holding records is corruption;
//    empty segment files beyond a gap or with a bad header are removed.
// Stateless; thread-safe.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "store/status.h"

namespace rill::store {

struct scan_repair {
  enum class kind : uint8_t {
    zero_range,     // zero [begin, end) of the segment
    set_first_seq,  // store value into the header's first-seq field
    remove_file,    // delete the segment file
    extend_file,    // a truncated file: cut to begin, allocate back to value bytes (zeros)
  };
  kind what = kind::zero_range;
  uint32_t index = 0;
  uint64_t begin = 0;
  uint64_t end = 0;
  uint64_t value = 0;
};

struct scan_result {
  io_status status = io_status::ok;  // ok | corrupt | io_error
  uint32_t segments = 0;             // segment files found
  uint64_t first_seq = 0;            // 0 = empty
  uint64_t head = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;                // bytes of valid records
  // Where appending continues: segment index and offset (index 0 = no
  // segment yet). sealed: that segment ends with a committed end marker and
  // the next segment file does not exist yet.
  uint32_t tail_index = 0;
  uint64_t tail_offset = 0;
  bool tail_sealed = false;
  uint64_t dropped_bytes = 0;  // non-zero bytes beyond the end (to be zeroed)
  std::string tail_note;       // what lay beyond the end, for humans ("" = clean)
  // First corruption (status == corrupt).
  uint32_t corrupt_segment = 0;
  uint64_t corrupt_offset = 0;
  uint64_t corrupt_seq = 0;
  std::string reason;  // corrupt or io_error: why
  std::vector<scan_repair> repairs;
};

scan_result scan_journal(const std::filesystem::path& dir);

// scan_journal, with first_listing standing in for the first read of the
// directory (sorted segment indexes): a read that raced the writer may miss
// a file or stop short. For tests; scan_journal passes nullopt.
scan_result scan_journal_listed(const std::filesystem::path& dir,
                                const std::optional<std::vector<uint32_t>>& first_listing);

}  // namespace rill::store
