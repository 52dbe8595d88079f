#pragma once
// journal_bell: wakes readers in other processes on the same host when the
// journal writer publishes, so a tailer sleeps until there is something to
// read instead of polling (one futex wake-up between an append and a reader;
// the event feed over ZeroMQ takes four thread hand-offs).
//
// <dir>/BELL is one 4 KiB page that the writer and the readers map shared:
//
//    0  u32 magic "BELL" (0x4c4c4542 little-endian)
//    4  u32 version = 1
//    8  u32 ring: bumped by every publish (the futex word)
//   12  u32 sleepers: readers about to sleep or sleeping on ring; the
//       writer makes the wake-up system call only while it is not zero
//
// It is not part of the journal's data (docs/journal-format.md): deleting it
// loses nothing, and the writer recreates it at open.
//
// Protocol (Dekker-style, all seq_cst): a reader registers as a sleeper,
// reads ring, re-checks the journal, then sleeps while ring is unchanged
// (futex, bounded by a timeout) and unregisters. The writer publishes the
// records, bumps ring, and wakes all sleepers if the count is not zero.
// Either the reader's re-check sees the records or the writer sees the
// sleeper. A reader killed while asleep leaves the count raised: the writer
// then makes one needless system call per publish until it is reopened
// (open_writer resets the count; a reader whose registration that erased
// sleeps at most its timeout).
//
// Ownership: owns a shared mapping of BELL. Thread-safety: every member is
// thread-safe; the page is shared by every process that maps it.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace rill::store {

class journal_bell {
 public:
  // The writer's side: creates <dir>/BELL (mode 0600) or reuses it, and
  // resets the sleeper count. nullptr if the file cannot be created or
  // mapped (the journal then works without wake-ups; readers poll).
  static std::unique_ptr<journal_bell> open_writer(const std::filesystem::path& dir);
  // A reader's side: maps an existing <dir>/BELL read-write (a reader must
  // count itself as a sleeper). nullptr if it does not exist (yet), cannot
  // be opened (another user) or is not a bell page.
  static std::unique_ptr<journal_bell> open_reader(const std::filesystem::path& dir);

  ~journal_bell();
  journal_bell(const journal_bell&) = delete;
  journal_bell& operator=(const journal_bell&) = delete;

  // Writer: call after records became visible. Wakes every sleeper.
  void ring();

  // Reader: register before re-checking the journal, then sleep, then leave.
  //   auto seen = bell.enter();
  //   if (!journal_has_more()) bell.sleep(seen, timeout);
  //   bell.leave();
  uint32_t enter();
  void sleep(uint32_t seen, std::chrono::nanoseconds timeout) const;
  void leave();

  // The current ring value and sleeper count (tests, monitoring).
  uint32_t rings() const;
  uint32_t sleepers() const;

 private:
  journal_bell(void* page, uint32_t* ring, uint32_t* sleepers);
  void* page_;
  uint32_t* ring_;
  uint32_t* sleepers_;
};

}  // namespace rill::store
