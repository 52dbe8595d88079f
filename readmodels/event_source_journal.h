#pragma once
// event_source_journal: an event_source over the journal directory D/journal
// read through store::journal_reader (read-only mappings, no lock, safe while
// rill-core appends). The fastest way to catch up on the same host.
//
// Ownership: owns its journal_reader. Thread-safety: none (one thread).
#include <chrono>
#include <filesystem>
#include <string>

#include "readmodels/event_source.h"
#include "store/journal_reader.h"

namespace rill::readmodels {

class event_source_journal final : public event_source {
 public:
  explicit event_source_journal(std::filesystem::path dir);

  source_status seek(uint64_t seq) override;
  source_status next(source_event& out) override;
  uint64_t position() const override { return reader_.position_seq(); }
  uint64_t last_seq() override { return reader_.last_seq(); }
  const std::string& error() const override { return error_; }
  std::string_view kind() const override { return "journal"; }
  // Bodies point into the mapped segments; the reader keeps every segment
  // that holds one of the last kStableBodies + 1 records mapped
  // (reader_options::keep_records), whatever the segment and record sizes.
  static constexpr size_t kStableBodies = 64;
  size_t stable_bodies() const override { return kStableBodies; }

  // Like next(), but waits up to `timeout` for the next record to be
  // published (the reader spins briefly, then sleeps in short steps).
  source_status wait_next(source_event& out, std::chrono::microseconds timeout);

 private:
  source_status map(store::io_status s, const char* what);
  std::filesystem::path dir_;
  store::journal_reader reader_;
  std::string error_;
};

// True when `dir` is a directory this process can read (the journal of a
// same-host rill-core).
bool journal_readable(const std::filesystem::path& dir);

}  // namespace rill::readmodels
