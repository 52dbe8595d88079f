#pragma once
// pid_file: D/run/<daemon>.pid (rill-core, rill-notify, rill-rates,
// rill-proj-<models>), held under an exclusive flock(2) for the daemon's
// lifetime, so a second instance for the same data directory is refused (it
// would otherwise unlink and steal the first one's ipc sockets) while a stale
// file left by a killed process is simply taken over (the
// kernel drops the lock with the process).
//
// Ownership: owns the open file. Thread-safety: none needed (main thread).
// Durability: the pid is written and flushed before acquire() returns; the
// file is removed by the destructor (clean exit).
#include <filesystem>
#include <string>

namespace rill::daemon {

// Creates D/run for a daemon's sockets and pid file, and D itself, each with
// mode 0700 when it does not exist yet (core/private_dir.h: an existing
// directory keeps its mode). Throws std::filesystem_error.
void make_run_dir(const std::filesystem::path& data, const std::filesystem::path& run_dir);

class pid_file {
 public:
  pid_file() = default;
  ~pid_file();
  pid_file(const pid_file&) = delete;
  pid_file& operator=(const pid_file&) = delete;

  // Creates and locks `path`, writing our pid. False (with `error` set) when
  // another live process holds it or the file cannot be written.
  bool acquire(const std::filesystem::path& path, std::string& error);

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace rill::daemon
