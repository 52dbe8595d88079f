#pragma once
// What journal_writer::open() found and did while recovering a journal.
#include <cstdint>
#include <string>

namespace rill::store {

struct recovery_report {
  uint64_t head = 0;           // last seq after recovery (0 = empty)
  uint64_t first_seq = 0;      // first seq in the journal (0 = empty)
  uint64_t records = 0;        // records found valid
  uint32_t segments = 0;       // segment files present after recovery
  uint64_t dropped_bytes = 0;  // torn/garbage tail removed (zeroed)
  bool corrupt = false;        // corruption before the tail: open refused
  // Position of the first corruption (valid when corrupt).
  uint32_t corrupt_segment = 0;
  uint64_t corrupt_offset = 0;
  uint64_t corrupt_seq = 0;    // the seq expected at that position
  // One human line describing what recovery did or found (or why open failed).
  std::string message;
};

}  // namespace rill::store
