#pragma once
// run_lock: the supervisor's exclusive lock on a data directory
// (flock on D/run/rill.lock). One `rill up` per data directory: a second one
// finds the lock taken and refuses. The kernel drops the lock when the last
// descriptor of its open file goes away, so a supervisor that died (even by
// SIGKILL) leaves no stale lock; its stale D/run/rill.pid is simply replaced.
//
// Ownership: owns one file descriptor (O_CLOEXEC, so daemons started by the
// supervisor never inherit it). The lock survives fork(): a detached
// supervisor keeps the lock its parent took. Destruction closes the
// descriptor without LOCK_UN (an unlock would also release it for a forked
// copy).
//
// Thread-safety: not thread-safe.
#include <chrono>
#include <filesystem>
#include <string>

namespace rill::cli {

class run_lock {
 public:
  enum class result { acquired, busy, error };

  run_lock() = default;
  ~run_lock();
  run_lock(run_lock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  run_lock& operator=(run_lock&& o) noexcept;
  run_lock(const run_lock&) = delete;
  run_lock& operator=(const run_lock&) = delete;

  // Takes the lock without waiting. `error` says why on result::error.
  result try_acquire(const std::filesystem::path& file, std::string& error);
  bool held() const { return fd_ >= 0; }
  // Closes the descriptor in this process only.
  void close();

 private:
  int fd_ = -1;
};

// True if some process holds the lock on `file` (it exists and is locked).
// Probes by taking and dropping the lock.
bool run_lock_busy(const std::filesystem::path& file);

// Daemons holding their pid files' locks in D/run (the supervisor's
// excluded), as "rill-core (pid 12), rill-proj-orders (pid 14)"; "" when
// none. Waits up to `wait` for them to go (daemons of a supervisor that
// just died exit on their own).
std::string daemons_running(const std::filesystem::path& data, std::chrono::milliseconds wait);

// D/run/rill.lock, D/run/rill.pid, D/run/supervisor.json.
std::filesystem::path lock_file(const std::filesystem::path& data);
std::filesystem::path supervisor_pid_file(const std::filesystem::path& data);
std::filesystem::path supervisor_state_file(const std::filesystem::path& data);

}  // namespace rill::cli
