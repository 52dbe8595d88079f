#pragma once
// snapshot_store: the snapshot files of one read model in D/models/<name>/
// (format in readmodels/snapshot_format.h).
//
// write() is durable when it returns ok: the bytes go to a .partial file,
// which is flushed (fdatasync), renamed to its final name, and the directory
// is fsynced; then all but the newest `keep` snapshots are deleted. A crash at
// any point leaves either the previous set of snapshots or the new one, plus
// at most a stray .partial file, which open() removes.
//
// read() maps a file read-only and checks it whole (header, name, length,
// checksums); the caller decides what to do with a bad one (log, remove, try
// an older one).
//
// Ownership: owns nothing but its paths; a loaded_snapshot owns its mapping.
// Thread-safety: none; one store per model, used by one thread at a time (the
// snapshot writer thread writes, the projector thread reads at start).
// Never throws: I/O errors are returned as status + message.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "readmodels/snapshot_format.h"

namespace rill::readmodels {

enum class snapshot_status : uint8_t { ok, not_found, corrupt, io_error };
const char* to_string(snapshot_status s);

// A checked snapshot file, mapped read-only. Move-only.
class loaded_snapshot {
 public:
  loaded_snapshot() = default;
  ~loaded_snapshot();
  loaded_snapshot(loaded_snapshot&& o) noexcept;
  loaded_snapshot& operator=(loaded_snapshot&& o) noexcept;
  loaded_snapshot(const loaded_snapshot&) = delete;
  loaded_snapshot& operator=(const loaded_snapshot&) = delete;

  snapshot_format::header hdr;
  std::span<const char> body;  // valid while this object lives
  std::filesystem::path path;

 private:
  friend class snapshot_store;
  void reset();
  void* map_ = nullptr;
  size_t map_size_ = 0;
};

class snapshot_store {
 public:
  snapshot_store(std::filesystem::path dir, std::string model, size_t keep = 2);

  const std::filesystem::path& dir() const { return dir_; }

  // Creates the directory (mode 0700) if missing and removes stray .partial
  // files. ok | io_error.
  snapshot_status open(std::string& message);

  // Seqs of the final snapshot files, newest first (names only, not checked).
  std::vector<uint64_t> list(std::string& message) const;

  // Maps and checks the snapshot taken at `seq`. ok | not_found | corrupt |
  // io_error. A file of another model is corrupt.
  snapshot_status read(uint64_t seq, loaded_snapshot& out, std::string& message) const;

  // Writes a snapshot of `body` taken at `seq` durably (see above) and prunes
  // older ones. created_ns stamps the header. ok | io_error.
  snapshot_status write(uint64_t seq, uint64_t event_fingerprint, uint64_t created_ns,
                        std::span<const char> body, std::string& message);

  // Deletes the snapshot taken at `seq` (a corrupt or stale one). Best effort.
  void remove(uint64_t seq);
  // Deletes every snapshot and syncs the directory (a rebuilt state
  // replaces them all). False if one could not be deleted.
  bool remove_all();

  // The model's settings the snapshots were taken with, in the file
  // kSettingsFile next to them (canonical JSON text). A snapshot is only
  // good for the settings it was built with (a base currency changes every
  // stored amount), so use_settings() deletes every snapshot when they
  // differ from `settings` (or when snapshots exist without a record, from
  // a rill that kept none), then records `settings` durably (temp file,
  // fdatasync, rename, directory fsync). `discarded` says whether snapshots
  // were there and had to go; `previous` is the old record. ok | io_error
  // (then the snapshots must not be used: some may be left).
  snapshot_status use_settings(const std::string& settings, bool& discarded, std::string& previous,
                               std::string& message);
  static constexpr const char* kSettingsFile = "settings.json";

  std::filesystem::path path_of(uint64_t seq) const;

 private:
  void prune();
  std::filesystem::path dir_;
  std::string model_;
  size_t keep_;
};

}  // namespace rill::readmodels
