#include "readmodels/runtime_doorbell.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace rill::readmodels {

doorbell::doorbell() {
  fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

doorbell::~doorbell() {
  if (fd_ >= 0) ::close(fd_);
}

void doorbell::clear() {
  armed_.store(false, std::memory_order_seq_cst);
  uint64_t v;
  while (::read(fd_, &v, sizeof v) < 0 && errno == EINTR) {
  }
}

void doorbell::ring_always() {
  const uint64_t one = 1;
  while (::write(fd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

}  // namespace rill::readmodels
