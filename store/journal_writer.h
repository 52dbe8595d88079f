#pragma once
// journal_writer: the only writer of a journal directory (format in
// store/journal_format.h).
//
// Ownership: open() returns the writer; it owns the directory's exclusive
// flock (dir/LOCK), its segment mappings and its background threads (the
// prefaulter, and the flusher in interval mode). Destroying it publishes
// nothing new, flushes what was published, stops the threads and unlocks.
//
// Thread-safety: one thread drives append/publish/discard_unpublished/flush.
// published_head(), durable_head() and wait_published() are thread-safe.
//
// Durability: append() writes a record into the shared mapping without its
// commit word (invisible). publish() makes every appended record visible to
// readers at once; from then on it survives a killed process. flush() makes
// published records durable on disk (survives a power cut); in sync batch
// the caller calls it per batch, in interval mode a background thread does,
// in none only the destructor does. A failed flush (or a failed background
// flush) makes the writer refuse all further appends with io_error until it
// is reopened. Disk full while preparing a segment: append returns io_error
// and nothing partial is visible (segments are preallocated, so writes into
// the mapping never fault on space).
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "store/journal_options.h"
#include "store/recovery_report.h"
#include "store/status.h"

namespace rill::store {

class segment_file;

class journal_writer {
 public:
  // Takes the lock, recovers the journal (drops a torn or garbage tail,
  // refuses corruption before the tail), and positions after the head.
  // Returns nullptr when refused (corrupt, locked by another writer, bad
  // options, I/O error) with report.message set; report is filled either way.
  static std::unique_ptr<journal_writer> open(const journal_options& opt, recovery_report& report);

  ~journal_writer();
  journal_writer(const journal_writer&) = delete;
  journal_writer& operator=(const journal_writer&) = delete;

  // Last appended seq, published or not (0 = empty journal).
  uint64_t head() const;
  // Last seq visible to readers. Thread-safe.
  uint64_t published_head() const;
  // Last seq flushed to stable storage. Thread-safe.
  uint64_t durable_head() const;
  // Largest body append() accepts: segment_size - 64 - 16 - 8.
  uint64_t max_body_size() const;

  // Writes a record but NOT its commit word. seq must be head()+1 (or any
  // seq in 1..2^64-2 on an empty journal) -> else invalid_argument. Body longer than
  // max_body_size() -> too_large. io_error after a failed flush or when the
  // next segment cannot be prepared (disk full); on any error nothing of this
  // record is written and the previously appended records are untouched.
  [[nodiscard]] io_status append(uint64_t seq, std::span<const char> body);

  // Commits every appended record; the group's FIRST commit word is stored
  // last, so readers see the whole group at once. No-op when nothing is
  // pending. Wakes wait_published() callers.
  void publish();

  // Zeroes what was appended since the last publish (a batch that failed as
  // a whole) and rewinds head() to published_head().
  void discard_unpublished();

  // Makes published records durable (fdatasync of the segment files, or
  // msync of the dirty range, per options().flush_with). ok when nothing is
  // to flush. On failure returns io_error and the writer refuses all further
  // appends until reopened.
  [[nodiscard]] io_status flush();

  // Unmaps a segment mapping on the writer's background thread (the
  // prefaulter's; with prefault_ahead 0, here and now). For in-process
  // readers that run on a latency-sensitive thread. Thread-safe.
  void release_later(std::unique_ptr<segment_file> f);

  // For in-process tailers: blocks until published_head() > after_seq (true)
  // or the timeout passes (false). Thread-safe.
  bool wait_published(uint64_t after_seq, std::chrono::microseconds timeout) const;

  const journal_options& options() const;

  // Bytes of the current segment mapped and touched ahead of the write
  // position by the prefaulter (monitoring; 0 without it). Thread-safe.
  uint64_t prefaulted_bytes() const;

  // Why the last io_error happened (for logs); empty if none. Writer thread.
  const std::string& last_error() const;

  class impl;

 private:
  explicit journal_writer(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace rill::store
