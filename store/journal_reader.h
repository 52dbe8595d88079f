#pragma once
// journal_reader: a read-only, lock-free reader of a journal directory,
// usable from any process while the writer appends (format in
// store/journal_format.h).
//
// Ownership: the reader owns read-only mappings of the segment files it has
// visited; it takes no lock and never writes the journal. (wait_next() also
// maps the journal's bell page read-write, to count itself as a sleeper:
// store/journal_bell.h.) record_view bodies point into
// those mappings and stay valid until the next call on the reader.
//
// Thread-safety: not thread-safe; use one reader per thread. Any number of
// readers (in any processes) may read one journal concurrently.
//
// Consistency: a reader sees only published records (acquire load of each
// commit word), in seq order, without gaps, and a published group whole or
// not at all. It checks every record's length, checksum and seq density;
// next() returns corrupt on a bad record. (A reader inside the writer's own
// process may skip the checksum: reader_options.) New segment files are picked up
// as they appear (the next file is looked up at an end-of-segment marker,
// the directory is rescanned when seeking or at the start of the journal).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>

#include "store/status.h"

namespace rill::store {

class segment_file;

struct record_view {
  uint64_t seq = 0;
  std::span<const char> body;  // valid until the next call on the reader
};

struct reader_options {
  // false: next() checks each record's length and seq but not its body
  // checksum. Only for a reader in the writer's process that reads records
  // this process has just appended (rill-core's feed publisher), where the
  // hash would only re-check bytes it wrote microseconds earlier.
  bool verify_checksums = true;
  // Set: a segment the reader leaves behind is handed to this function
  // instead of being unmapped on the reader's thread (unmapping 256 MiB
  // takes 20-25 ms). rill-core's publisher, which reads on the command
  // thread, passes it to the journal writer's background thread
  // (journal_writer::release_later).
  std::function<void(std::unique_ptr<segment_file>)> release;
  // The bodies of the last keep_records + 1 records returned stay readable:
  // a segment stays mapped while any of those is in it. 0: only the last
  // one is (the reader keeps the cursor's segment and the one before, which
  // with small segments and large records can be a single record). For
  // readers that decode ahead of applying (event_source_journal).
  uint64_t keep_records = 0;
  // true: a segment file shorter than its header's size (cut short by a
  // crash; rill-core repairs it when it opens the journal) is read as far
  // as it goes, its cut-off record reading as corrupt, as the recovery
  // scanner reads it. false: such a file is corrupt as a whole. For offline
  // tools (rill journal dump), which must show every sound record.
  bool allow_short_segments = false;
};

class journal_reader {
 public:
  // Does no I/O; a missing or empty directory reads as an empty journal.
  explicit journal_reader(std::filesystem::path dir, reader_options opt = {});
  ~journal_reader();
  journal_reader(journal_reader&&) noexcept;
  journal_reader& operator=(journal_reader&&) noexcept;

  // Positions so that next() returns the record with this seq. A seq at or
  // before the journal's first record positions at the first record; a seq
  // beyond the head positions at the tail, and next() returns end_of_log
  // until that seq is written (the records before it are skipped). Binary
  // search over segments by their first seq plus a sparse offset index the
  // reader builds as it passes records; seeking to the current position
  // costs nothing. ok | corrupt | io_error.
  [[nodiscard]] io_status seek(uint64_t seq);

  // The next record: ok | end_of_log (nothing more published yet) |
  // corrupt | io_error. After end_of_log, call again later.
  [[nodiscard]] io_status next(record_view& out);

  // Like next(), but waits for a record: spins for 20 us, then sleeps until
  // the writer publishes (on the journal's bell, when it can open it; else
  // in steps of 20 to 500 us) or the timeout passes (end_of_log).
  [[nodiscard]] io_status wait_next(record_view& out, std::chrono::microseconds timeout);

  // Seq of the last published record (0 = none). Scans forward from a cached
  // position without moving the read cursor.
  uint64_t last_seq();

  // The seq next() would return (1 on an empty journal positioned at the start).
  uint64_t position_seq() const;

  class impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace rill::store
