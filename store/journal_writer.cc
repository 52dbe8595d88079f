#include "store/journal_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "store/dir_lock.h"
#include "store/futex.h"
#include "store/journal_bell.h"
#include "store/journal_format.h"
#include "store/journal_recovery.h"
#include "store/journal_scan.h"
#include "store/segment_dir.h"
#include "store/segment_file.h"
#include "store/segment_supply.h"

namespace rill::store {

using namespace format;

class journal_writer::impl {
 public:
  explicit impl(journal_options opt) : opt_(std::move(opt)) {}
  ~impl();

  io_status start(const scan_result& scan, std::string& error);
  io_status append(uint64_t seq, std::span<const char> body);
  void publish();
  void discard_unpublished();
  io_status flush();
  bool wait_published(uint64_t after_seq, std::chrono::microseconds timeout) const;
  void start_interval_flusher();
  uint64_t prefaulted_bytes() const { return supply_ ? supply_->populated_ahead() : 0; }
  void release_later(std::unique_ptr<segment_file> f) {
    if (supply_) supply_->retire(std::shared_ptr<segment_file>(std::move(f)));
  }

  journal_options opt_;
  dir_lock lock_;
  std::unique_ptr<journal_bell> bell_;  // wakes tailers in other processes; may be null
  std::string last_error_;
  uint64_t max_body_ = 0;
  std::atomic<uint64_t> published_head_{0};
  std::atomic<uint64_t> durable_head_{0};
  uint64_t head_ = 0;

 private:
  io_status roll();
  io_status flush_locked();

  std::unique_ptr<segment_supply> supply_;
  // Current segment.
  std::shared_ptr<segment_file> cur_;
  char* base_ = nullptr;
  uint64_t seg_size_ = 0;
  uint64_t pos_ = 0;
  bool cur_sealed_ = false;  // cur_ ends with a committed end marker
  uint64_t next_poke_ = 0;

  // The unpublished group: commit words to store, and the byte ranges it
  // wrote per segment (first = where it started).
  struct pending_word {
    uint64_t* word;
    uint64_t value;
  };
  struct group_segment {
    std::shared_ptr<segment_file> seg;
    uint64_t begin;
    uint64_t end;
    uint64_t first_seq;  // seq of the segment's first record if the group wrote it
  };
  std::vector<pending_word> pending_;
  std::vector<group_segment> group_;
  uint64_t group_records_ = 0;

  std::atomic<uint32_t> publish_epoch_{0};
  mutable std::atomic<uint32_t> waiters_{0};
  std::atomic<bool> failed_{false};

  // Flush state (the interval thread flushes too). flush_mu_ serialises
  // flushes and is held across the sync calls; state_mu_ guards the fields
  // below and is only held briefly, so a roll-over never waits for a sync.
  struct retired_segment {
    uint32_t index;
    uint64_t last_seq;
  };
  std::mutex flush_mu_;
  std::mutex state_mu_;
  std::vector<retired_segment> retired_;
  std::shared_ptr<segment_file> flush_cur_;
  uint64_t synced_to_ = kHeaderSize;
  std::atomic<uint64_t> published_end_{kHeaderSize};  // in flush_cur_

  // Interval flusher.
  std::mutex interval_mu_;
  std::condition_variable interval_cv_;
  bool interval_stop_ = false;
  std::thread interval_thread_;
};

journal_writer::impl::~impl() {
  if (interval_thread_.joinable()) {
    {
      std::lock_guard lock(interval_mu_);
      interval_stop_ = true;
    }
    interval_cv_.notify_all();
    interval_thread_.join();
  }
  if (cur_) {
    discard_unpublished();
    if (!failed_.load()) (void)flush();
  }
  supply_.reset();
}

io_status journal_writer::impl::start(const scan_result& scan, std::string& error) {
  segment_supply::config cfg;
  cfg.dir = opt_.dir;
  cfg.segment_size = opt_.segment_size;
  cfg.prefault_ahead = opt_.prefault_ahead;
  cfg.clock = opt_.clock;
  supply_ = std::make_unique<segment_supply>(cfg);
  const uint32_t index = scan.tail_index == 0 ? 1 : scan.tail_index;
  io_status s = supply_->obtain(index, cur_, error);
  if (s != io_status::ok) return s;
  base_ = cur_->data();
  seg_size_ = cur_->size();
  pos_ = scan.tail_index == 0 ? kHeaderSize : scan.tail_offset;
  cur_sealed_ = scan.tail_sealed;
  head_ = scan.head;
  // Whatever a previous (killed) writer left in the page cache is made
  // durable now, so durable_head() starts at the head.
  std::vector<uint32_t> indices;
  if (list_segments(opt_.dir, indices, error) != io_status::ok) return io_status::io_error;
  for (uint32_t i : indices) {
    const auto path = opt_.dir / segment_file_name(i);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fdatasync(fd) != 0) {
      error = "cannot sync " + path.string() + ": " + std::strerror(errno);
      if (fd >= 0) ::close(fd);
      return io_status::io_error;
    }
    ::close(fd);
  }
  published_head_.store(head_);
  durable_head_.store(head_);
  flush_cur_ = cur_;
  synced_to_ = pos_;
  published_end_.store(pos_);
  supply_->set_current(cur_, pos_);
  pending_.reserve(1024);
  return io_status::ok;
}

void journal_writer::impl::start_interval_flusher() {
  if (opt_.sync.k != sync_mode::kind::interval) return;
  interval_thread_ = std::thread([this] {
    const auto period = std::chrono::milliseconds(opt_.sync.interval_ms);
    std::unique_lock lock(interval_mu_);
    while (!interval_stop_) {
      interval_cv_.wait_for(lock, period, [&] { return interval_stop_; });
      if (interval_stop_) break;
      lock.unlock();
      if (!failed_.load(std::memory_order_acquire)) (void)flush();
      lock.lock();
    }
  });
}

io_status journal_writer::impl::roll() {
  std::shared_ptr<segment_file> next;
  io_status s = supply_->take(cur_->index() + 1, next, last_error_);
  if (s != io_status::ok) return io_status::io_error;
  if (!cur_sealed_) {
    auto* w = reinterpret_cast<uint64_t*>(base_ + pos_);
    if (group_records_ == 0) {
      // Nothing of a group precedes it: committing it now makes no record
      // visible, and recovery never finds records beyond an empty word.
      std::atomic_ref<uint64_t>(*w).store(kEndMarker, std::memory_order_release);
    } else {
      pending_.push_back({w, kEndMarker});
    }
  }
  {
    std::lock_guard lock(state_mu_);
    retired_.push_back({cur_->index(), head_});
    flush_cur_ = next;
    synced_to_ = kHeaderSize;
    published_end_.store(kHeaderSize, std::memory_order_release);
  }
  if (group_records_ > 0) group_.back().end = pos_ + kEndMarkerSize;
  supply_->retire(std::exchange(cur_, std::move(next)));  // unmapped off this thread
  base_ = cur_->data();
  seg_size_ = cur_->size();
  pos_ = kHeaderSize;
  cur_sealed_ = false;
  next_poke_ = 0;
  if (group_records_ > 0) group_.push_back({cur_, pos_, pos_, 0});
  return io_status::ok;
}

io_status journal_writer::impl::append(uint64_t seq, std::span<const char> body) {
  if (failed_.load(std::memory_order_relaxed)) return io_status::io_error;
  if (head_ != 0 ? seq != head_ + 1 : seq == 0) return io_status::invalid_argument;
  if (seq > kMaxSeq) return io_status::invalid_argument;
  const uint64_t len = body.size();
  if (len > max_body_) return io_status::too_large;
  const uint64_t rs = record_size(len);
  if (cur_sealed_ || pos_ + rs + kEndMarkerSize > seg_size_) [[unlikely]] {
    if (io_status s = roll(); s != io_status::ok) return s;
    if (pos_ + rs + kEndMarkerSize > seg_size_) return io_status::too_large;  // smaller old segment
  }
  if (group_records_ == 0) group_.push_back({cur_, pos_, pos_, 0});
  if (pos_ == kHeaderSize) group_.back().first_seq = seq;
  char* p = base_ + pos_;
  store_u64(p + kRecSeq, seq);
  if (len) {
    store_u64(p + kRecBody + align8(len) - 8, 0);  // padding
    std::memcpy(p + kRecBody, body.data(), len);
  }
  const uint32_t ck = record_checksum(seq, body.data(), static_cast<uint32_t>(len));
  pending_.push_back({reinterpret_cast<uint64_t*>(p), make_commit(static_cast<uint32_t>(len), ck)});
  pos_ += rs;
  head_ = seq;
  ++group_records_;
  if (pos_ >= next_poke_) [[unlikely]] {
    // The prefaulter learns the position every few MiB; it keeps
    // prefault_ahead bytes beyond the last one it learnt.
    supply_->note_position(pos_);
    next_poke_ = supply_->poke(pos_);
  }
  return io_status::ok;
}

void journal_writer::impl::publish() {
  const size_t n = pending_.size();
  if (n == 0) return;
  for (size_t i = 1; i < n; ++i) {
    std::atomic_ref<uint64_t>(*pending_[i].word).store(pending_[i].value, std::memory_order_release);
  }
  std::atomic_ref<uint64_t>(*pending_[0].word).store(pending_[0].value, std::memory_order_release);
  for (const group_segment& g : group_) {
    if (g.first_seq != 0) g.seg->store_first_seq(g.first_seq);
  }
  published_end_.store(pos_, std::memory_order_release);
  published_head_.store(head_, std::memory_order_release);
  pending_.clear();
  group_.clear();
  group_records_ = 0;
  publish_epoch_.fetch_add(1, std::memory_order_seq_cst);
  if (waiters_.load(std::memory_order_seq_cst) != 0) futex_wake_all(publish_epoch_);
  if (bell_) bell_->ring();
}

void journal_writer::impl::discard_unpublished() {
  if (group_records_ == 0) return;
  group_.back().end = pos_;
  for (const group_segment& g : group_) {
    std::memset(g.seg->data() + g.begin, 0, g.end - g.begin);
  }
  group_segment start = group_.front();
  if (group_.size() > 1) {
    std::vector<std::shared_ptr<segment_file>> later;
    for (size_t i = 1; i < group_.size(); ++i) later.push_back(group_[i].seg);
    {
      std::lock_guard lock(state_mu_);
      std::erase_if(retired_,
                    [&](const retired_segment& r) { return r.index >= start.seg->index(); });
      flush_cur_ = start.seg;
      synced_to_ = kHeaderSize;
      published_end_.store(start.begin, std::memory_order_release);
    }
    supply_->give_back(std::move(later));
    supply_->set_current(start.seg, start.begin);
  }
  cur_ = start.seg;
  base_ = cur_->data();
  seg_size_ = cur_->size();
  pos_ = start.begin;
  cur_sealed_ = false;
  next_poke_ = 0;
  head_ = published_head_.load(std::memory_order_relaxed);
  pending_.clear();
  group_.clear();
  group_records_ = 0;
  supply_->note_position(pos_);
}

io_status journal_writer::impl::flush() {
  if (failed_.load(std::memory_order_acquire)) return io_status::io_error;
  std::lock_guard lock(flush_mu_);
  io_status s = flush_locked();
  if (s != io_status::ok) failed_.store(true, std::memory_order_release);
  return s;
}

io_status journal_writer::impl::flush_locked() {
  const uint64_t head = published_head_.load(std::memory_order_acquire);
  if (head == durable_head_.load(std::memory_order_relaxed)) return io_status::ok;
  // Everything up to head lies in the retired segments and flush_cur_ as
  // they are now (a roll-over after this point only adds later records).
  std::vector<retired_segment> retired;
  std::shared_ptr<segment_file> cur;
  uint64_t synced_to = 0;
  uint64_t end = 0;
  {
    std::lock_guard lock(state_mu_);
    retired = retired_;
    cur = flush_cur_;
    synced_to = synced_to_;
    end = published_end_.load(std::memory_order_acquire);
  }
  for (const retired_segment& r : retired) {
    const auto path = opt_.dir / segment_file_name(r.index);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fdatasync(fd) != 0) {
      if (fd >= 0) ::close(fd);
      return io_status::io_error;
    }
    ::close(fd);
  }
  if (opt_.flush_with == flush_call::msync) {
    if (cur->sync_range(synced_to, end) != io_status::ok) return io_status::io_error;
  } else if (cur->sync_data() != io_status::ok) {
    return io_status::io_error;
  }
  {
    std::lock_guard lock(state_mu_);
    std::erase_if(retired_, [&](const retired_segment& r) {
      return r.last_seq <= head && std::any_of(retired.begin(), retired.end(), [&](const auto& x) {
               return x.index == r.index;
             });
    });
    if (flush_cur_ == cur) synced_to_ = std::max(synced_to_, end);
  }
  uint64_t prev = durable_head_.load(std::memory_order_relaxed);
  while (prev < head && !durable_head_.compare_exchange_weak(prev, head)) {
  }
  return io_status::ok;
}

bool journal_writer::impl::wait_published(uint64_t after_seq,
                                          std::chrono::microseconds timeout) const {
  if (published_head_.load(std::memory_order_acquire) > after_seq) return true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  bool ok = false;
  for (;;) {
    const uint32_t epoch = publish_epoch_.load(std::memory_order_seq_cst);
    if (published_head_.load(std::memory_order_acquire) > after_seq) {
      ok = true;
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    futex_wait(publish_epoch_, epoch, deadline - now);
  }
  waiters_.fetch_sub(1, std::memory_order_seq_cst);
  return ok;
}

// ---------------------------------------------------------------------------

namespace {

io_status validate(journal_options& opt, std::string& error) {
  if (opt.dir.empty()) {
    error = "journal directory not set";
    return io_status::invalid_argument;
  }
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  if (opt.segment_size > kMaxSegmentSize) {
    error = "segment_size " + std::to_string(opt.segment_size) + " exceeds 1 TiB";
    return io_status::invalid_argument;
  }
  opt.segment_size = std::max(kMinSegmentSize, (opt.segment_size + page - 1) & ~(page - 1));
  if (opt.sync.k == sync_mode::kind::interval &&
      (opt.sync.interval_ms < 1 || opt.sync.interval_ms > sync_mode::max_interval_ms)) {
    error = "sync interval must be 1..60000 ms";
    return io_status::invalid_argument;
  }
  return io_status::ok;
}

}  // namespace

std::unique_ptr<journal_writer> journal_writer::open(const journal_options& options,
                                                     recovery_report& report) {
  report = recovery_report{};
  auto p = std::make_unique<impl>(options);
  std::string error;
  if (validate(p->opt_, error) != io_status::ok || ensure_directory(p->opt_.dir, error) != io_status::ok ||
      p->lock_.acquire(p->opt_.dir, error) != io_status::ok ||
      remove_temp_files(p->opt_.dir, error) != io_status::ok) {
    report.message = error;
    return nullptr;
  }
  scan_result scan = scan_journal(p->opt_.dir);
  fill_report(scan, report);
  if (scan.status != io_status::ok) return nullptr;
  if (apply_repairs(p->opt_.dir, scan, error) != io_status::ok) {
    report.message = "recovery failed: " + error;
    return nullptr;
  }
  for (const scan_repair& r : scan.repairs) {
    if (r.what == scan_repair::kind::remove_file) --report.segments;
  }
  if (scan.tail_index == 0) report.segments = 1;
  p->max_body_ = format::max_body_size(p->opt_.segment_size);
  if (p->start(scan, error) != io_status::ok) {
    report.message = "cannot start writer: " + error;
    return nullptr;
  }
  p->start_interval_flusher();
  // Without a bell, readers in other processes poll: slower, never wrong.
  p->bell_ = journal_bell::open_writer(p->opt_.dir);
  return std::unique_ptr<journal_writer>(new journal_writer(std::move(p)));
}

journal_writer::journal_writer(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
journal_writer::~journal_writer() = default;

uint64_t journal_writer::head() const { return impl_->head_; }
uint64_t journal_writer::published_head() const {
  return impl_->published_head_.load(std::memory_order_acquire);
}
uint64_t journal_writer::durable_head() const {
  return impl_->durable_head_.load(std::memory_order_acquire);
}
uint64_t journal_writer::max_body_size() const { return impl_->max_body_; }
io_status journal_writer::append(uint64_t seq, std::span<const char> body) {
  return impl_->append(seq, body);
}
void journal_writer::publish() { impl_->publish(); }
void journal_writer::discard_unpublished() { impl_->discard_unpublished(); }
io_status journal_writer::flush() { return impl_->flush(); }
bool journal_writer::wait_published(uint64_t after_seq, std::chrono::microseconds timeout) const {
  return impl_->wait_published(after_seq, timeout);
}
const journal_options& journal_writer::options() const { return impl_->opt_; }
const std::string& journal_writer::last_error() const { return impl_->last_error_; }
uint64_t journal_writer::prefaulted_bytes() const { return impl_->prefaulted_bytes(); }
void journal_writer::release_later(std::unique_ptr<segment_file> f) {
  impl_->release_later(std::move(f));
}

}  // namespace rill::store
