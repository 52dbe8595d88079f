#include "store/futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <climits>

namespace rill::store {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));

namespace {

void wait_op(const uint32_t* word, int op, uint32_t expected, std::chrono::nanoseconds timeout) {
  if (timeout.count() <= 0) return;
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000000000);
  ts.tv_nsec = static_cast<long>(timeout.count() % 1000000000);
  ::syscall(SYS_futex, word, op, expected, &ts, nullptr, 0);
}

}  // namespace

void futex_wait(const std::atomic<uint32_t>& word, uint32_t expected,
                std::chrono::nanoseconds timeout) {
  wait_op(reinterpret_cast<const uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, timeout);
}

void futex_wake_all(std::atomic<uint32_t>& word) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
            nullptr, 0);
}

void futex_wait_shared(const uint32_t* word, uint32_t expected, std::chrono::nanoseconds timeout) {
  wait_op(word, FUTEX_WAIT, expected, timeout);
}

void futex_wake_all_shared(uint32_t* word) {
  ::syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

}  // namespace rill::store
