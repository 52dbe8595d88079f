#include "daemons/rill/interrupt.h"

#include <sys/signalfd.h>
#include <unistd.h>

#include <initializer_list>

namespace rill::cli {

interrupt_fd::interrupt_fd() {
  sigset_t set;
  ::sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaddset(&set, s);
  ::pthread_sigmask(SIG_BLOCK, &set, &old_);
  fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

interrupt_fd::~interrupt_fd() {
  if (fd_ >= 0) ::close(fd_);
  ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

bool interrupt_fd::fired() {
  if (fd_ < 0) return fired_;
  signalfd_siginfo si{};
  while (::read(fd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) fired_ = true;
  return fired_;
}

}  // namespace rill::cli
