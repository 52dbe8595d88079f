#include "store/journal_truncate.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "store/dir_lock.h"
#include "store/journal_format.h"
#include "store/record_check.h"
#include "store/segment_dir.h"
#include "store/segment_file.h"

namespace rill::store {

namespace {

using format::kHeaderSize;

io_status open_segment(const std::filesystem::path& dir, uint32_t index, segment_file::access a,
                       std::unique_ptr<segment_file>& out, std::string& error) {
  return segment_file::open(dir / format::segment_file_name(index), a, true, index, out, error,
                            true);
}

truncate_plan refuse(truncate_plan p, io_status s, std::string why) {
  p.status = s;
  p.error = std::move(why);
  return p;
}

io_status sync_file(const std::filesystem::path& file, std::string& error) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    error = "cannot flush " + file.string() + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return io_status::io_error;
  }
  ::close(fd);
  return io_status::ok;
}

// Moves a file into the backup directory (a copy and a removal when the
// two are on different file systems).
io_status move_file(const std::filesystem::path& from, const std::filesystem::path& to,
                    std::string& error) {
  if (::rename(from.c_str(), to.c_str()) == 0) return io_status::ok;
  if (errno != EXDEV) {
    error = "cannot move " + from.string() + " to " + to.string() + ": " + std::strerror(errno);
    return io_status::io_error;
  }
  std::error_code ec;
  std::filesystem::copy_file(from, to, ec);
  if (ec) {
    error = "cannot copy " + from.string() + " to " + to.string() + ": " + ec.message();
    return io_status::io_error;
  }
  if (io_status s = sync_file(to, error); s != io_status::ok) return s;
  if (::unlink(from.c_str()) != 0) {
    error = "cannot remove " + from.string() + ": " + std::strerror(errno);
    return io_status::io_error;
  }
  return io_status::ok;
}

bool same_plan(const truncate_plan& a, const truncate_plan& b) {
  return a.status == b.status && a.cut_segment == b.cut_segment && a.cut_offset == b.cut_offset &&
         a.cut_end == b.cut_end && a.removed_segments == b.removed_segments;
}

}  // namespace

namespace {

// Valid records at or after (idx[from_i], from_off) that are not part of
// the sound chain: each segment is walked record by record, skipping ahead
// to the next valid record after a bad one.
uint64_t count_records_past(const std::filesystem::path& dir, const std::vector<uint32_t>& idx,
                            size_t from_i, uint64_t from_off) {
  uint64_t n = 0;
  for (size_t i = from_i; i < idx.size(); ++i) {
    // Mapped raw, not through its header: a file renamed or copied by hand
    // has a header naming another index, and its records count all the same.
    const auto path = dir / format::segment_file_name(idx[i]);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st {};
    const bool sized = ::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) > kHeaderSize;
    void* m = sized
                  ? ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0)
                  : MAP_FAILED;
    ::close(fd);
    if (m == MAP_FAILED) continue;
    const char* base = static_cast<const char*>(m);
    const uint64_t size = static_cast<uint64_t>(st.st_size) & ~uint64_t{7};
    const uint64_t start = i == from_i ? from_off : kHeaderSize;
    // The record at `start` ended the chain (bad, empty, the end, or sound
    // but not the seq the chain or its header expected): it counts if it is
    // a sound record; else begin after it. A later file from its start.
    uint64_t off = 0;
    if (start + 8 <= size) {
      record_info first;
      off = i != from_i || check_record(base, size, start, 0, true, first) == record_state::ok
                ? start
                : find_valid_record_after(base, size, start, size, 0);
    }
    while (off != 0 && off + 8 <= size) {
      record_info info;
      if (check_record(base, size, off, 0, true, info) == record_state::ok) {
        ++n;
        off += info.size;
        continue;
      }
      off = find_valid_record_after(base, size, off, size, 0);
    }
    ::munmap(m, static_cast<size_t>(st.st_size));
  }
  return n;
}

}  // namespace

truncate_plan plan_truncate(const std::filesystem::path& dir, uint64_t keep_through) {
  truncate_plan p;
  p.keep_through = keep_through;
  std::vector<uint32_t> idx;
  std::string error;
  if (list_segments(dir, idx, error) != io_status::ok)
    return refuse(std::move(p), io_status::io_error, error);

  // Follow the chain of valid records (as the recovery scan does) and note
  // where the record keep_through ends.
  size_t cut_i = idx.size();
  uint64_t cut_off = 0;
  uint64_t expected = 0;
  size_t chain_end_i = 0;      // where the chain of valid records stops
  uint64_t chain_end_off = 0;  // (the damage, or the end of the log)
  for (size_t i = 0; i < idx.size(); ++i) {
    if (i > 0 && idx[i] != idx[i - 1] + 1) break;  // a missing file ends the chain
    std::unique_ptr<segment_file> seg;
    io_status s = open_segment(dir, idx[i], segment_file::access::read_only, seg, error);
    if (s == io_status::io_error) return refuse(std::move(p), s, error);
    if (s != io_status::ok) break;  // a bad header ends the chain
    uint64_t off = kHeaderSize;
    record_state st = record_state::empty;
    for (;;) {
      record_info info;
      st = check_record(seg->data(), seg->size(), off, expected, true, info);
      if (st != record_state::ok) break;
      // A header naming another first seq is damage, as verify and the
      // recovery scan say: the chain ends before this segment (a cut past
      // it was accepted and left a journal rill-core still refused).
      if (off == kHeaderSize && seg->load_first_seq() != 0 && seg->load_first_seq() != info.seq) {
        st = record_state::bad_seq;
        break;
      }
      if (p.first_seq == 0) p.first_seq = info.seq;
      p.sound_head = info.seq;
      if (info.seq > keep_through) ++p.dropped_records;
      off += info.size;
      if (info.seq == keep_through) {
        cut_i = i;
        cut_off = off;
      }
      expected = info.seq + 1;
    }
    chain_end_i = i;
    chain_end_off = off;
    if (st != record_state::end_marker) break;
  }
  p.records_past_damage = count_records_past(dir, idx, chain_end_i, chain_end_off);

  if (keep_through > p.sound_head)
    return refuse(std::move(p), io_status::invalid_argument,
                  p.sound_head == 0
                      ? "the journal holds no sound record; only a cut after seq 0 is possible"
                      : "seq " + std::to_string(keep_through) +
                            " is past the sound part of the journal, which ends at seq " +
                            std::to_string(p.sound_head));
  if (p.first_seq > 1 && keep_through < p.first_seq)
    return refuse(std::move(p), io_status::invalid_argument,
                  "the journal starts at seq " + std::to_string(p.first_seq) +
                      " (its earlier segments are gone); a cut must keep at least that seq");
  if (keep_through == 0) {
    p.removed_segments = idx;
    return p;
  }
  // The cut segment's non-zero bytes from the cut on, and every later file.
  std::unique_ptr<segment_file> seg;
  if (io_status s = open_segment(dir, idx[cut_i], segment_file::access::read_only, seg, error);
      s != io_status::ok)
    return refuse(std::move(p), s == io_status::io_error ? s : io_status::invalid_argument, error);
  const byte_range ext = nonzero_extent(seg->data(), seg->fd(), cut_off, seg->size());
  p.cut_segment = idx[cut_i];
  p.cut_offset = cut_off;
  p.cut_end = ext.empty() ? cut_off : ext.end;
  for (size_t i = cut_i + 1; i < idx.size(); ++i) p.removed_segments.push_back(idx[i]);
  return p;
}

io_status apply_truncate(const std::filesystem::path& dir, const truncate_plan& plan,
                         const std::filesystem::path& backup, std::string& error) {
  if (plan.status != io_status::ok) {
    error = plan.error;
    return plan.status;
  }
  dir_lock lock;
  if (lock.acquire(dir, error) != io_status::ok) {
    // Only a lock held by another writer means rill-core runs.
    const bool held = error.find("locked by another writer") != std::string::npos;
    error = "cannot lock the journal (" + error + ")" + (held ? "; stop rill-core first" : "");
    return io_status::io_error;
  }
  const truncate_plan now = plan_truncate(dir, plan.keep_through);
  if (!same_plan(now, plan)) {
    error = "the journal changed since the plan was made; plan again";
    return io_status::invalid_argument;
  }
  if (!plan.drops()) return io_status::ok;

  std::error_code ec;
  if (!std::filesystem::create_directories(backup, ec)) {
    error = "cannot create " + backup.string() + (ec ? ": " + ec.message() : ": it exists");
    return io_status::io_error;
  }
  ::chmod(backup.c_str(), 0700);
  const bool zeroes = plan.cut_end > plan.cut_offset;
  if (zeroes) {
    const auto name = format::segment_file_name(plan.cut_segment);
    std::filesystem::copy_file(dir / name, backup / name, ec);
    if (ec) {
      error =
          "cannot save " + (dir / name).string() + " to " + backup.string() + ": " + ec.message();
      return io_status::io_error;
    }
    if (io_status s = sync_file(backup / name, error); s != io_status::ok) return s;
  }
  // Later files first: interrupted after this, the journal is sound and
  // ends inside the cut segment.
  for (auto it = plan.removed_segments.rbegin(); it != plan.removed_segments.rend(); ++it) {
    const auto name = format::segment_file_name(*it);
    if (io_status s = move_file(dir / name, backup / name, error); s != io_status::ok) return s;
  }
  if (io_status s = sync_directory(backup, error); s != io_status::ok) return s;
  if (io_status s = sync_directory(dir, error); s != io_status::ok) return s;
  if (!zeroes) return io_status::ok;
  std::unique_ptr<segment_file> seg;
  if (io_status s =
          open_segment(dir, plan.cut_segment, segment_file::access::read_write, seg, error);
      s != io_status::ok)
    return s;
  if (plan.cut_end > seg->size() || plan.cut_offset < kHeaderSize) {
    error = "bad cut range";
    return io_status::invalid_argument;
  }
  std::memset(seg->data() + plan.cut_offset, 0, plan.cut_end - plan.cut_offset);
  if (seg->sync_data() != io_status::ok) {
    error = "cannot flush " + seg->path().string() + ": " + std::strerror(errno);
    return io_status::io_error;
  }
  return io_status::ok;
}

}  // namespace rill::store
