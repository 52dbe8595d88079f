#include "daemons/common/pid_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/private_dir.h"

namespace rill::daemon {

void make_run_dir(const std::filesystem::path& data, const std::filesystem::path& run_dir) {
  make_private_dir(data);
  make_private_dir(run_dir);
}

bool pid_file::acquire(const std::filesystem::path& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot open " + path.string() + ": " + std::strerror(errno);
    return false;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string other = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
    while (!other.empty() && (other.back() == '\n' || other.back() == ' ')) other.pop_back();
    error = "already running (pid " + other + ", " + path.string() + ")";
    ::close(fd);
    return false;
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()) ||
      ::fsync(fd) != 0) {
    error = "cannot write " + path.string() + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  fd_ = fd;
  path_ = path;
  return true;
}

pid_file::~pid_file() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // while still locked: no other instance can be between
  ::close(fd_);
}

}  // namespace rill::daemon
