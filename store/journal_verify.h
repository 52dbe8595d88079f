#pragma once
// verify_journal: an offline, read-only check of a whole journal directory
// (what `rill journal verify` prints). Never modifies anything; safe to run
// while a writer appends (it then reports the state it saw).
#include <cstdint>
#include <filesystem>
#include <string>

#include "store/status.h"

namespace rill::store {

struct verify_report {
  // ok: journal is sound (possibly with a torn tail that open() would drop);
  // corrupt: corruption before the tail; io_error: could not read it.
  io_status status = io_status::ok;
  uint64_t first_seq = 0;   // 0 = empty
  uint64_t head = 0;        // last valid seq before the end / first corruption
  uint64_t records = 0;     // valid records
  uint32_t segments = 0;    // segment files
  uint64_t bytes = 0;       // bytes of valid records (with their headers)
  uint64_t torn_tail_bytes = 0;  // bytes open() would drop at the tail
  // First corruption (valid when status == corrupt).
  uint32_t corrupt_segment = 0;
  uint64_t corrupt_offset = 0;
  uint64_t corrupt_seq = 0;  // the seq expected at that position
  std::string reason;        // e.g. "checksum mismatch", "missing segment file"
  std::string message;       // one human line summarising the result
};

// Thread-safe (shares nothing).
verify_report verify_journal(const std::filesystem::path& dir);

}  // namespace rill::store
