#pragma once
// dir_lock: an exclusive, non-blocking flock on <dir>/LOCK, held for the
// object's lifetime. Guarantees one journal writer per directory, across
// processes (the kernel drops the lock when the holder dies).
// Move-only; not thread-safe.
#include <filesystem>
#include <string>

#include "store/status.h"

namespace rill::store {

class dir_lock {
 public:
  dir_lock() = default;
  ~dir_lock();
  dir_lock(dir_lock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  dir_lock& operator=(dir_lock&& o) noexcept;
  dir_lock(const dir_lock&) = delete;
  dir_lock& operator=(const dir_lock&) = delete;

  // ok, or io_error with error set ("locked by another writer" when held).
  [[nodiscard]] io_status acquire(const std::filesystem::path& dir, std::string& error);
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace rill::store
