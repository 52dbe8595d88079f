#include "store/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "store/journal_format.h"

namespace rill::store {

dir_lock::~dir_lock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

dir_lock& dir_lock::operator=(dir_lock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

io_status dir_lock::acquire(const std::filesystem::path& dir, std::string& error) {
  const std::filesystem::path file = dir / format::kLockFileName;
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot open " + file.string() + ": " + std::strerror(errno);
    return io_status::io_error;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    error = err == EWOULDBLOCK ? "journal " + dir.string() + " is locked by another writer"
                               : "cannot lock " + file.string() + ": " + std::strerror(err);
    return io_status::io_error;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return io_status::ok;
}

}  // namespace rill::store
