#pragma once
// pid_file: D/run/rill-proj-<models>.pid, held under an exclusive flock(2)
// for the daemon's lifetime. A second rill-proj for the same models and data
// directory is refused (it would steal the first one's ipc query sockets);
// a stale file left by a killed process is taken over (the kernel dropped
// its lock with the process).
//
// Ownership: owns the open file. Thread-safety: main thread only.
// Durability: the pid is written and flushed before acquire() returns; the
// destructor removes the file (clean exit).
#include <filesystem>
#include <string>

namespace rill::proj {

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

}  // namespace rill::proj
