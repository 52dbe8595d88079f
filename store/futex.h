#pragma once
// Minimal futex wait/wake on a 32-bit atomic (std::atomic::wait has no
// timeout). futex_wait/futex_wake_all are process-private; the _shared
// variants work on a word in a MAP_SHARED file mapping, across processes
// (store/journal_bell.h). Thread-safe.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace rill::store {

// Blocks while word == expected, until woken or the timeout passes (may
// return spuriously; callers re-check their condition).
void futex_wait(const std::atomic<uint32_t>& word, uint32_t expected,
                std::chrono::nanoseconds timeout);
// Wakes every thread blocked in futex_wait on word.
void futex_wake_all(std::atomic<uint32_t>& word);

// The same on a word in shared memory (no FUTEX_PRIVATE_FLAG).
void futex_wait_shared(const uint32_t* word, uint32_t expected, std::chrono::nanoseconds timeout);
void futex_wake_all_shared(uint32_t* word);

}  // namespace rill::store
