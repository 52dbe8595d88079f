#pragma once
// Cutting a journal after a given seq: the operator's repair when
// `rill journal verify` reports corruption before the tail ("events up to
// seq N are sound") and rill-core refuses to open, or when a group that was
// never acknowledged must go after a power cut.
//
// plan_truncate() reads the journal and says what a cut after `keep_through`
// would drop; apply_truncate() does it: every segment file it changes or
// removes is first saved whole to a backup directory (nothing is destroyed),
// then later segment files are moved there, then the cut segment is zeroed
// from the first dropped record on and flushed. Interrupted at any point,
// the journal is either the old one, or sound up to some seq at or after
// keep_through (the later files gone), and running it again finishes it.
//
// apply_truncate() takes the journal's writer lock (D/journal/LOCK), so it
// refuses while rill-core runs. Stateless; not safe against a concurrent
// writer in this process.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "store/status.h"

namespace rill::store {

struct truncate_plan {
  // ok: the plan below can be applied (it may drop nothing: drops() false);
  // invalid_argument: keep_through is not a seq the sound chain reaches
  // (error says why); io_error: the journal could not be read.
  io_status status = io_status::ok;
  std::string error;
  uint64_t keep_through = 0;  // the last seq kept
  uint64_t first_seq = 0;     // the journal's first record (0: empty)
  uint64_t sound_head = 0;    // last seq of the chain of valid records
  // Records of the sound chain after keep_through (the dropped part may
  // also hold damaged records and garbage, counted in bytes only).
  uint64_t dropped_records = 0;
  // Records with a valid checksum in what is dropped but beyond the sound
  // chain: past the damage that ended it, in the same segment and in later
  // files (removed whole). They are saved to the backup like the rest.
  uint64_t records_past_damage = 0;
  // The segment whose tail is zeroed, [cut_offset, cut_end) (cut_segment 0:
  // none), and the segment files removed whole.
  uint32_t cut_segment = 0;
  uint64_t cut_offset = 0;
  uint64_t cut_end = 0;
  std::vector<uint32_t> removed_segments;
  bool drops() const { return cut_end > cut_offset || !removed_segments.empty(); }
};

// Read-only; safe while a writer runs (the plan is then stale at once).
truncate_plan plan_truncate(const std::filesystem::path& dir, uint64_t keep_through);

// Applies a plan made for this journal. backup: a directory that does not
// exist yet (created with mode 0700); receives the removed segment files and
// a copy of the cut segment as it was. Re-plans under the lock and refuses
// (invalid_argument) if the journal changed since the plan was made.
[[nodiscard]] io_status apply_truncate(const std::filesystem::path& dir, const truncate_plan& plan,
                                       const std::filesystem::path& backup, std::string& error);

}  // namespace rill::store
