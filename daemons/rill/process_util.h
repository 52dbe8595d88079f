#pragma once
// Small POSIX helpers shared by the supervisor and the CLI: pid files,
// liveness checks, wait-status text, clocks and private directories.
//
// Thread-safety: every function is thread-safe (no shared state). None throws.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace rill::cli {

// True while `pid` exists and is not a zombie: a process whose main thread
// has ended counts as alive while any of its other threads has not (they
// still hold its files and locks).
bool process_alive(pid_t pid);
// The executable's file name of a running process ("rill-proj"), empty if
// it cannot be read.
std::string process_exe_name(pid_t pid);

// Whether `pid` runs the executable named `exe` (a file name, as
// process_exe_name gives) with `--data` naming `data` (the same directory,
// however spelt): a daemon of this data directory, not of a copy of it or
// another rill, nor a reused pid. What a supervisor may stop.
bool is_daemon_of(pid_t pid, const std::string& exe, const std::filesystem::path& data);

// Removes what daemons of D stopped by SIGKILL left in D/run: socket files
// no process listens on, and daemon pid and model lock files no process
// holds (rill-core.pid, rill-proj-*.pid, model.*.lock, ...), so that clients
// say "not running" at once and nothing names a dead pid.
void clear_run_leftovers(const std::filesystem::path& data);
// Waits until `pid` (not necessarily our child) is gone; false on timeout.
bool wait_gone(pid_t pid, std::chrono::milliseconds timeout);

// Reads a pid file (decimal pid, optional newline); nullopt if absent or
// malformed.
std::optional<pid_t> read_pid_file(const std::filesystem::path& file);
// Writes `pid` atomically (temp file + rename), mode 0600. False on error.
bool write_pid_file(const std::filesystem::path& file, pid_t pid);
// Writes `text` atomically (temp file, fsync, rename), mode 0600.
bool write_file_atomic(const std::filesystem::path& file, const std::string& text);
// The whole file, or nullopt.
std::optional<std::string> read_file(const std::filesystem::path& file);
// The last `lines` lines of a file ("" if unreadable), reading at most the
// last 64 KiB.
std::string tail_file(const std::filesystem::path& file, size_t lines);

// "exited with status 1", "killed by signal 9 (SIGKILL)".
std::string describe_wait_status(int status);

// Creates `dir` (mode 0700) and its parents if needed; an existing directory
// keeps its mode (core/private_dir.h). False with a message on error.
bool make_dir(const std::filesystem::path& dir, std::string& error);

// Wall-clock nanoseconds since the Unix epoch.
uint64_t now_ns();
// "2026-11-26 13:46:01" in local time ("-" for 0).
std::string format_local_time(uint64_t ns);
// "2026-11-26T13:46:01.123Z" (UTC, milliseconds).
std::string format_utc_ms(uint64_t ns);
// "3d 4h", "5m 3s", "12s".
std::string format_duration(std::chrono::nanoseconds d);

}  // namespace rill::cli
