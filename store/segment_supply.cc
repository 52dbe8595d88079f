#include "store/segment_supply.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <system_error>
#include <thread>

#include "store/journal_format.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace rill::store {

namespace {
// Populates in small steps and yields the CPU after each: populating (page
// allocation and zeroing) costs about 0.7 ms per MiB here, and a thread that
// slept has scheduling credit, so a long run would hold a CPU that the
// command path is waiting for. 2 MiB steps run back to back made the
// acknowledgement p99 at 20k commands/s 1.5x worse (bench/RESULTS.md).
constexpr uint64_t kChunk = 256ull << 10;
constexpr auto kIdleWait = std::chrono::milliseconds(50);

uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}
}  // namespace

segment_supply::segment_supply(config cfg) : cfg_(std::move(cfg)) {}

segment_supply::~segment_supply() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void segment_supply::set_current(std::shared_ptr<segment_file> seg, uint64_t pos) {
  {
    std::lock_guard lock(mu_);
    current_ = std::move(seg);
    pos_.store(pos, std::memory_order_relaxed);
    populated_.store(pos, std::memory_order_relaxed);
    prepare_failed_ = false;
    if (cfg_.prefault_ahead > 0 && !thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  cv_.notify_all();
}

uint64_t segment_supply::poke(uint64_t pos) {
  const uint64_t ahead = cfg_.prefault_ahead;
  if (ahead == 0) return UINT64_MAX;
  if (pos + ahead - ahead / 4 > populated_.load(std::memory_order_relaxed)) cv_.notify_one();
  return pos + std::max<uint64_t>(ahead / 8, 4096);
}

io_status segment_supply::obtain(uint32_t index, std::shared_ptr<segment_file>& out,
                                 std::string& error) const {
  const auto path = cfg_.dir / format::segment_file_name(index);
  std::unique_ptr<segment_file> f;
  std::error_code ec;
  io_status s;
  if (std::filesystem::exists(path, ec)) {
    s = segment_file::open(path, segment_file::access::read_write, true, index, f, error);
    if (s == io_status::corrupt) s = io_status::io_error;
  } else {
    s = segment_file::create(cfg_.dir, index, cfg_.segment_size, cfg_.clock ? cfg_.clock() : now_ns(),
                             f, error);
  }
  if (s == io_status::ok) out = std::shared_ptr<segment_file>(std::move(f));
  return s;
}

io_status segment_supply::take(uint32_t index, std::shared_ptr<segment_file>& out,
                               std::string& error) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !preparing_; });
  while (!ready_.empty() && ready_.front().seg->index() < index) ready_.pop_front();
  uint64_t populated = format::kHeaderSize;
  if (!ready_.empty() && ready_.front().seg->index() == index) {
    out = ready_.front().seg;
    populated = ready_.front().populated;
    ready_.pop_front();
  } else {
    ready_.clear();
    preparing_ = true;
    lock.unlock();
    io_status s = obtain(index, out, error);
    lock.lock();
    preparing_ = false;
    if (s != io_status::ok) {
      cv_.notify_all();
      return s;
    }
  }
  current_ = out;
  pos_.store(format::kHeaderSize, std::memory_order_relaxed);
  populated_.store(populated, std::memory_order_relaxed);
  prepare_failed_ = false;
  lock.unlock();
  cv_.notify_all();
  return io_status::ok;
}

void segment_supply::give_back(std::vector<std::shared_ptr<segment_file>> segs) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !preparing_; });
  for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
    std::erase_if(ready_, [&](const ready_segment& r) { return r.seg->index() == (*it)->index(); });
    ready_.push_front({*it, format::kHeaderSize});
  }
}

void segment_supply::retire(std::shared_ptr<segment_file> seg) {
  if (!seg) return;
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;  // no thread: seg is dropped on return
    retiring_.push_back(std::move(seg));
  }
  cv_.notify_all();
}

void segment_supply::populate(const segment_file& seg, uint64_t from, uint64_t to) {
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  from &= ~(page - 1);
  to = std::min(seg.size(), (to + page - 1) & ~(page - 1));
  if (from >= to) return;
  if (::madvise(seg.data() + from, to - from, MADV_POPULATE_WRITE) == 0) return;
  if (errno != EINVAL) return;  // the writer will fault the pages in itself
  // Old kernel: touch one word per page with an atomic no-op, which cannot
  // lose a concurrent write of the writer.
  for (uint64_t off = from; off < to; off += page) {
    std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(seg.data() + off))
        .fetch_add(0, std::memory_order_relaxed);
  }
}

bool segment_supply::step(std::unique_lock<std::mutex>& lock) {
  if (!retiring_.empty()) {
    std::vector<std::shared_ptr<segment_file>> drop;
    drop.swap(retiring_);
    lock.unlock();
    drop.clear();  // unmaps, if these were the last references
    lock.lock();
    return true;
  }
  if (!current_) return false;
  const uint64_t ahead = cfg_.prefault_ahead;
  std::shared_ptr<segment_file> cur = current_;
  const uint64_t pos = pos_.load(std::memory_order_relaxed);
  const uint64_t populated = populated_.load(std::memory_order_relaxed);
  const uint64_t want = std::min(cur->size(), pos + ahead);
  if (populated < want) {
    const uint64_t from = std::max(populated, pos);
    const uint64_t to = std::min(want, from + kChunk);
    lock.unlock();
    populate(*cur, from, to);
    lock.lock();
    if (current_ == cur && populated_.load(std::memory_order_relaxed) < to) {
      populated_.store(to, std::memory_order_relaxed);
    }
    return true;
  }
  const bool near_end = pos >= cur->size() / 2 || cur->size() - pos <= ahead;
  if (ready_.empty() && !preparing_ && !prepare_failed_ && near_end) {
    preparing_ = true;
    const uint32_t index = cur->index() + 1;
    lock.unlock();
    std::shared_ptr<segment_file> next;
    std::string error;
    io_status s = obtain(index, next, error);
    lock.lock();
    preparing_ = false;
    if (s == io_status::ok && current_ == cur) {
      ready_.push_back({std::move(next), format::kHeaderSize});
    } else if (s != io_status::ok) {
      prepare_failed_ = true;  // the writer retries when it needs the segment
    }
    cv_.notify_all();
    return true;
  }
  if (!ready_.empty()) {
    ready_segment& r = ready_.front();
    const uint64_t target = std::min(r.seg->size(), format::kHeaderSize + ahead);
    if (r.populated < target) {
      std::shared_ptr<segment_file> seg = r.seg;
      const uint64_t from = r.populated;
      const uint64_t to = std::min(target, from + kChunk);
      lock.unlock();
      populate(*seg, from, to);
      lock.lock();
      if (!ready_.empty() && ready_.front().seg == seg) {
        ready_.front().populated = std::max(ready_.front().populated, to);
      }
      return true;
    }
  }
  return false;
}

void segment_supply::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (!step(lock)) {
      cv_.wait_for(lock, kIdleWait);
      continue;
    }
    lock.unlock();
    std::this_thread::yield();  // let a waiting thread run between two steps
    lock.lock();
  }
}

}  // namespace rill::store
