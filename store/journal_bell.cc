#include "store/journal_bell.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>

#include "store/futex.h"

namespace rill::store {

namespace {

constexpr const char* kBellFileName = "BELL";
constexpr size_t kPage = 4096;
constexpr uint32_t kMagic = 0x4c4c4542;  // "BELL"
constexpr uint32_t kVersion = 1;

uint32_t* word(void* page, size_t offset) {
  return reinterpret_cast<uint32_t*>(static_cast<char*>(page) + offset);
}

std::atomic_ref<uint32_t> atom(uint32_t* w) {
  return std::atomic_ref<uint32_t>(*w);
}

// Maps fd's first page shared read-write; nullptr on failure. Closes fd.
void* map_page(int fd) {
  void* p = ::mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  return p == MAP_FAILED ? nullptr : p;
}

}  // namespace

journal_bell::journal_bell(void* page, uint32_t* ring, uint32_t* sleepers)
    : page_(page), ring_(ring), sleepers_(sleepers) {}

journal_bell::~journal_bell() {
  ::munmap(page_, kPage);
}

std::unique_ptr<journal_bell> journal_bell::open_writer(const std::filesystem::path& dir) {
  const auto file = dir / kBellFileName;
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return nullptr;
  struct stat st {};
  if (::fstat(fd, &st) != 0 ||
      (st.st_size < static_cast<off_t>(kPage) && ::ftruncate(fd, kPage) != 0)) {
    ::close(fd);
    return nullptr;
  }
  void* page = map_page(fd);
  if (page == nullptr) return nullptr;
  if (atom(word(page, 0)).load(std::memory_order_acquire) != kMagic || *word(page, 4) != kVersion) {
    atom(word(page, 4)).store(kVersion, std::memory_order_relaxed);
    atom(word(page, 0)).store(kMagic, std::memory_order_release);
  }
  atom(word(page, 12)).store(0, std::memory_order_seq_cst);
  return std::unique_ptr<journal_bell>(new journal_bell(page, word(page, 8), word(page, 12)));
}

std::unique_ptr<journal_bell> journal_bell::open_reader(const std::filesystem::path& dir) {
  const auto file = dir / kBellFileName;
  const int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(kPage)) {
    ::close(fd);
    return nullptr;
  }
  void* page = map_page(fd);
  if (page == nullptr) return nullptr;
  if (atom(word(page, 0)).load(std::memory_order_acquire) != kMagic ||
      atom(word(page, 4)).load(std::memory_order_relaxed) != kVersion) {
    ::munmap(page, kPage);
    return nullptr;
  }
  return std::unique_ptr<journal_bell>(new journal_bell(page, word(page, 8), word(page, 12)));
}

void journal_bell::ring() {
  atom(ring_).fetch_add(1, std::memory_order_seq_cst);
  if (atom(sleepers_).load(std::memory_order_seq_cst) != 0) futex_wake_all_shared(ring_);
}

uint32_t journal_bell::enter() {
  atom(sleepers_).fetch_add(1, std::memory_order_seq_cst);
  return atom(ring_).load(std::memory_order_seq_cst);
}

void journal_bell::sleep(uint32_t seen, std::chrono::nanoseconds timeout) const {
  futex_wait_shared(ring_, seen, timeout);
}

void journal_bell::leave() {
  // Saturating: open_writer may have reset the count under us.
  auto s = atom(sleepers_);
  uint32_t v = s.load(std::memory_order_relaxed);
  while (v != 0 && !s.compare_exchange_weak(v, v - 1, std::memory_order_seq_cst)) {
  }
}

uint32_t journal_bell::rings() const {
  return atom(ring_).load(std::memory_order_acquire);
}

uint32_t journal_bell::sleepers() const {
  return atom(sleepers_).load(std::memory_order_acquire);
}

}  // namespace rill::store
