#include "store/journal_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "store/cpu_relax.h"
#include "store/journal_bell.h"
#include "store/journal_format.h"
#include "store/record_check.h"
#include "store/segment_dir.h"
#include "store/segment_file.h"

namespace rill::store {

using namespace format;

namespace {
constexpr uint64_t kSparseStride = 64ull << 10;  // one index entry per 64 KiB of records
constexpr auto kRescanInterval = std::chrono::milliseconds(1);
constexpr auto kSpin = std::chrono::microseconds(20);
constexpr auto kFirstSleep = std::chrono::microseconds(20);
constexpr auto kMaxSleep = std::chrono::microseconds(500);
// A sleep on the bell is cut at this length: a wake-up lost to a writer that
// reopened the bell (or replaced the file) costs at most this much.
constexpr auto kMaxBellSleep = std::chrono::milliseconds(50);
// How often a reader without a bell looks for one (the writer creates it).
constexpr auto kBellRetry = std::chrono::seconds(1);
}  // namespace

class journal_reader::impl {
 public:
  impl(std::filesystem::path dir, reader_options opt)
      : dir_(std::move(dir)), opt_(std::move(opt)) {}

  io_status seek(uint64_t seq);
  io_status next(record_view& out);
  uint64_t last_seq();
  // The journal's bell, opened on first use and looked for again every
  // kBellRetry while missing; null: poll.
  journal_bell* bell() {
    if (!bell_) {
      const auto now = std::chrono::steady_clock::now();
      if (now - bell_tried_ < kBellRetry) return nullptr;
      bell_tried_ = now;
      bell_ = journal_bell::open_reader(dir_);
    }
    return bell_.get();
  }
  uint64_t position_seq() const {
    const uint64_t e = cur_.expected == 0 ? 1 : cur_.expected;
    return std::max(target_, e);
  }

 private:
  struct segment {
    uint32_t index = 0;
    std::unique_ptr<segment_file> file;  // mapped when a cursor is in it
    uint64_t first_seq = 0;              // 0 = not (yet) known to be published
    std::vector<std::pair<uint64_t, uint64_t>> sparse;  // (seq, offset), ascending
  };
  struct position {
    size_t seg = 0;
    uint64_t off = kHeaderSize;
    uint64_t expected = 0;  // 0: at the journal's start, any first seq
  };

  io_status rescan(bool force);
  bool first_record_agrees(size_t k);
  io_status map(segment& s);
  io_status peek(position& p, bool verify, record_info& info, const char*& rec);
  void consume(position& p, const record_info& info);
  io_status refresh_first_seqs(size_t& known);
  void release_behind();

  std::filesystem::path dir_;
  reader_options opt_;
  std::vector<segment> segs_;
  position cur_;
  uint64_t target_ = 0;
  position probe_;
  uint64_t probe_last_ = 0;
  std::chrono::steady_clock::time_point last_rescan_{};
  std::unique_ptr<journal_bell> bell_;
  std::chrono::steady_clock::time_point bell_tried_{};
};

io_status journal_reader::impl::rescan(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_rescan_ < kRescanInterval) return io_status::ok;
  last_rescan_ = now;
  std::vector<uint32_t> indices;
  std::string error;
  if (list_segments(dir_, indices, error) != io_status::ok) return io_status::io_error;
  for (uint32_t idx : indices) {
    if (segs_.empty()) {
      segs_.push_back(segment{idx});
    } else if (idx == segs_.back().index + 1) {
      segs_.push_back(segment{idx});
    }
  }
  return io_status::ok;
}

io_status journal_reader::impl::map(segment& s) {
  if (s.file) return io_status::ok;
  std::string error;
  return segment_file::open(dir_ / segment_file_name(s.index), segment_file::access::read_only,
                            false, s.index, s.file, error, opt_.allow_short_segments);
}

// The record at p (not consumed), crossing end markers into later segments.
io_status journal_reader::impl::peek(position& p, bool verify, record_info& info,
                                     const char*& rec) {
  for (;;) {
    if (p.seg >= segs_.size()) {
      if (rescan(false) != io_status::ok) return io_status::io_error;
      if (p.seg >= segs_.size()) return io_status::end_of_log;
    }
    segment& s = segs_[p.seg];
    if (io_status st = map(s); st != io_status::ok) return st;
    const char* base = s.file->data();
    switch (check_record(base, s.file->size(), p.off, p.expected, verify, info)) {
      case record_state::ok:
        if (p.off == kHeaderSize) {
          // The header names the segment's first seq once it is published.
          const uint64_t named = s.first_seq != 0 ? s.first_seq : s.file->load_first_seq();
          if (named != 0 && named != info.seq) return io_status::corrupt;
        }
        rec = base + p.off;
        return io_status::ok;
      case record_state::empty:
        return io_status::end_of_log;
      case record_state::end_marker:
        if (p.seg + 1 >= segs_.size()) {
          // The writer creates the next file before it commits the marker;
          // it is missing only after a crash, until the writer reopens.
          const uint32_t next_index = s.index + 1;
          std::error_code ec;
          if (!std::filesystem::exists(dir_ / segment_file_name(next_index), ec)) {
            return io_status::end_of_log;
          }
          segs_.push_back(segment{next_index});
        }
        ++p.seg;
        p.off = kHeaderSize;
        release_behind();
        continue;
      default:
        return io_status::corrupt;
    }
  }
}

void journal_reader::impl::consume(position& p, const record_info& info) {
  segment& s = segs_[p.seg];
  if (p.off == kHeaderSize && s.first_seq == 0) s.first_seq = info.seq;
  if (s.sparse.empty() ? p.off >= kSparseStride : p.off >= s.sparse.back().second + kSparseStride) {
    s.sparse.emplace_back(info.seq, p.off);
  }
  p.off += info.size;
  p.expected = info.seq + 1;
}

void journal_reader::impl::release_behind() {
  // Keeps the cursor's segment and the one before it mapped (the last-seq
  // probe is never behind the cursor when it is used), and every segment
  // holding one of the last keep_records + 1 records returned.
  for (size_t i = 0; i + 1 < cur_.seg; ++i) {
    if (!segs_[i].file) continue;
    if (opt_.keep_records > 0) {
      // Segment i ends just before segment i + 1's first seq: it can go once
      // that is more than keep_records past the last seq returned
      // (expected - 1). Unknown (0): kept for now.
      const uint64_t next_first = segs_[i + 1].first_seq;
      if (next_first == 0 || next_first + opt_.keep_records >= cur_.expected) continue;
    }
    if (opt_.release) {
      opt_.release(std::move(segs_[i].file));
    } else {
      segs_[i].file.reset();
    }
  }
}

io_status journal_reader::impl::next(record_view& out) {
  for (;;) {
    record_info info;
    const char* rec = nullptr;
    io_status s = peek(cur_, opt_.verify_checksums, info, rec);
    if (s != io_status::ok) return s;
    consume(cur_, info);
    if (info.seq < target_) continue;
    out.seq = info.seq;
    out.body = std::span<const char>(rec + kRecBody, info.length);
    return io_status::ok;
  }
}

// Extends the known first seqs (the prefix of segments whose first record is
// published); `known` = how many segments from the start have one.
io_status journal_reader::impl::refresh_first_seqs(size_t& known) {
  known = 0;
  for (size_t i = 0; i < segs_.size(); ++i) {
    segment& s = segs_[i];
    if (s.first_seq == 0) {
      uint64_t v = 0;
      if (s.file) {
        v = s.file->load_first_seq();
      } else {
        const auto path = dir_ / segment_file_name(s.index);
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return io_status::io_error;
        char buf[8];
        ssize_t n = ::pread(fd, buf, sizeof buf, kHdrFirstSeq);
        ::close(fd);
        if (n != static_cast<ssize_t>(sizeof buf)) break;  // cut inside its header
        v = load_u64(buf);
      }
      // Unknown yet, or a header that cannot be right: the prefix before it
      // is what a seek may jump into; walking on from there reaches this
      // segment and reports it (peek), after every sound record before it.
      if (v == 0 || (i > 0 && v <= segs_[i - 1].first_seq)) break;
      s.first_seq = v;
    }
    known = i + 1;
  }
  return io_status::ok;
}

// Whether segment k's first record (once published) has the seq its header
// names: a header that names another is not trusted to jump to (the walk
// from the segment before reports it where it reaches it).
bool journal_reader::impl::first_record_agrees(size_t k) {
  segment& s = segs_[k];
  if (map(s) != io_status::ok) return false;
  record_info info;
  switch (check_record(s.file->data(), s.file->size(), kHeaderSize, 0, false, info)) {
    case record_state::ok:
      return info.seq == s.first_seq;
    default:
      // Nothing published there yet (or damage): its header's claim cannot
      // be checked, so the walk goes from the segment before (a prepared
      // last segment whose header named a seq of the one before made
      // `dump --from` print nothing).
      return false;
  }
}

io_status journal_reader::impl::seek(uint64_t seq) {
  if (seq == 0) seq = 1;
  if (!segs_.empty() && seq == position_seq()) return io_status::ok;
  if (rescan(true) != io_status::ok) return io_status::io_error;
  size_t known = 0;
  if (io_status s = refresh_first_seqs(known); s != io_status::ok) return s;
  position p;  // journal start
  if (known > 0 && seq >= segs_[0].first_seq) {
    size_t k = 0;
    for (;;) {
      k = 0;
      while (k + 1 < known && segs_[k + 1].first_seq <= seq) ++k;
      if (k == 0 || first_record_agrees(k)) break;
      known = k;  // jump no further than the segment before it
    }
    p.seg = k;
    p.off = kHeaderSize;
    p.expected = segs_[k].first_seq;
    const auto& sp = segs_[k].sparse;
    auto it = std::upper_bound(sp.begin(), sp.end(), std::make_pair(seq, UINT64_MAX));
    if (it != sp.begin()) {
      --it;
      p.off = it->second;
      p.expected = it->first;
    }
  } else if (known > 0) {
    p.expected = segs_[0].first_seq;  // seq before the first record
  }
  // Walking on from the current cursor is cheaper if it is ahead of p.
  if (cur_.expected != 0 && cur_.expected <= seq &&
      (cur_.seg > p.seg || (cur_.seg == p.seg && cur_.off > p.off))) {
    p = cur_;
  }
  target_ = seq;
  for (;;) {
    record_info info;
    const char* rec = nullptr;
    io_status s = peek(p, false, info, rec);
    if (s == io_status::end_of_log) break;
    if (s != io_status::ok) {
      cur_ = p;
      return s;
    }
    if (info.seq >= seq) break;
    consume(p, info);
  }
  cur_ = p;
  release_behind();
  return io_status::ok;
}

uint64_t journal_reader::impl::last_seq() {
  if (probe_.seg < cur_.seg || (probe_.seg == cur_.seg && probe_.off < cur_.off)) {
    probe_ = cur_;
    probe_last_ = cur_.expected == 0 ? 0 : cur_.expected - 1;
  }
  if (rescan(false) != io_status::ok) return probe_last_;
  size_t known = 0;
  (void)refresh_first_seqs(known);
  // As seek(): a header is jumped to only when its first record agrees.
  while (known > 0 && known - 1 > probe_.seg && !first_record_agrees(known - 1)) --known;
  if (known > 0 && known - 1 > probe_.seg) {
    const segment& s = segs_[known - 1];
    probe_.seg = known - 1;
    probe_.off = kHeaderSize;
    probe_.expected = s.first_seq;
    if (!s.sparse.empty()) {
      probe_.off = s.sparse.back().second;
      probe_.expected = s.sparse.back().first;
    }
    probe_last_ = probe_.expected - 1;
  }
  for (;;) {
    record_info info;
    const char* rec = nullptr;
    if (peek(probe_, false, info, rec) != io_status::ok) break;
    consume(probe_, info);
    probe_last_ = info.seq;
  }
  release_behind();
  return probe_last_;
}

// ---------------------------------------------------------------------------

journal_reader::journal_reader(std::filesystem::path dir, reader_options opt)
    : impl_(std::make_unique<impl>(std::move(dir), opt)) {}
journal_reader::~journal_reader() = default;
journal_reader::journal_reader(journal_reader&&) noexcept = default;
journal_reader& journal_reader::operator=(journal_reader&&) noexcept = default;

io_status journal_reader::seek(uint64_t seq) { return impl_->seek(seq); }
io_status journal_reader::next(record_view& out) { return impl_->next(out); }
uint64_t journal_reader::last_seq() { return impl_->last_seq(); }
uint64_t journal_reader::position_seq() const { return impl_->position_seq(); }

io_status journal_reader::wait_next(record_view& out, std::chrono::microseconds timeout) {
  io_status s = impl_->next(out);
  if (s != io_status::end_of_log) return s;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + timeout;
  auto sleep = kFirstSleep;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return io_status::end_of_log;
    if (now - start < kSpin) {
      for (int i = 0; i < 32; ++i) cpu_relax();
    } else if (journal_bell* bell = impl_->bell()) {
      // Sleep until the writer publishes (store/journal_bell.h).
      const uint32_t seen = bell->enter();
      s = impl_->next(out);
      if (s == io_status::end_of_log)
        bell->sleep(seen, std::min<std::chrono::nanoseconds>(kMaxBellSleep, deadline - now));
      bell->leave();
      if (s != io_status::end_of_log) return s;
    } else {
      std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(sleep, deadline - now));
      sleep = std::min<std::chrono::microseconds>(sleep * 2, kMaxSleep);
    }
    s = impl_->next(out);
    if (s != io_status::end_of_log) return s;
  }
}

}  // namespace rill::store
