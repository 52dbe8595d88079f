#include "daemons/rill/run_lock.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "daemons/rill/process_util.h"

#include "transport/endpoints.h"

namespace rill::cli {

run_lock::~run_lock() {
  close();
}

run_lock& run_lock::operator=(run_lock&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void run_lock::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

run_lock::result run_lock::try_acquire(const std::filesystem::path& file, std::string& error) {
  close();
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot open " + file.string() + ": " + ::strerror(errno);
    return result::error;
  }
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return result::busy;
    error = "cannot lock " + file.string() + ": " + ::strerror(err);
    return result::error;
  }
  fd_ = fd;
  return result::acquired;
}

bool run_lock_busy(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool busy = false;
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);  // our own description: unlocking affects only us
  } else {
    busy = errno == EWOULDBLOCK;
  }
  ::close(fd);
  return busy;
}

std::filesystem::path lock_file(const std::filesystem::path& data) {
  return transport::run_dir(data) / "rill.lock";
}
std::filesystem::path supervisor_pid_file(const std::filesystem::path& data) {
  return transport::run_dir(data) / "rill.pid";
}
std::filesystem::path supervisor_state_file(const std::filesystem::path& data) {
  return transport::run_dir(data) / "supervisor.json";
}

std::string daemons_running(const std::filesystem::path& data, std::chrono::milliseconds wait) {
  const auto run = transport::run_dir(data);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    std::string found;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(run, ec)) {
      const auto& p = e.path();
      if (p.extension() != ".pid" || p == supervisor_pid_file(data) || !run_lock_busy(p)) continue;
      auto pid = read_pid_file(p);
      if (!found.empty()) found += ", ";
      found += p.stem().string() + (pid ? " (pid " + std::to_string(*pid) + ")" : "");
    }
    if (found.empty() || std::chrono::steady_clock::now() >= deadline) return found;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace rill::cli
