#pragma once
// supervisor_log: the supervisor's own log, D/logs/rill.log. One line per
// event ("2026-11-26 13:46:01.123 rill-core (pid 42) killed by signal 9
// (SIGKILL); restart #1 in 200 ms"), appended and flushed at once, and
// mirrored to stderr when the supervisor runs in the foreground.
//
// Ownership: owns its file descriptor (O_APPEND | O_CLOEXEC, mode 0600).
// Thread-safety: not thread-safe (the supervisor is single-threaded).
#include <filesystem>
#include <string_view>

namespace rill::cli {

class supervisor_log {
 public:
  supervisor_log() = default;
  ~supervisor_log();
  supervisor_log(const supervisor_log&) = delete;
  supervisor_log& operator=(const supervisor_log&) = delete;

  // False if the file cannot be opened.
  bool open(const std::filesystem::path& file, bool mirror_to_stderr);
  void line(std::string_view text);

 private:
  int fd_ = -1;
  bool mirror_ = false;
};

}  // namespace rill::cli
