#include "store/journal_recovery.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>

#include "store/journal_format.h"
#include "store/segment_dir.h"
#include "store/segment_file.h"

namespace rill::store {

io_status apply_repairs(const std::filesystem::path& dir, const scan_result& scan,
                        std::string& error) {
  std::map<uint32_t, std::unique_ptr<segment_file>> open;
  auto get = [&](uint32_t index, segment_file*& out) -> io_status {
    auto it = open.find(index);
    if (it == open.end()) {
      std::unique_ptr<segment_file> f;
      io_status s = segment_file::open(dir / format::segment_file_name(index),
                                       segment_file::access::read_write, true, index, f, error);
      if (s != io_status::ok) return s;
      it = open.emplace(index, std::move(f)).first;
    }
    out = it->second.get();
    return io_status::ok;
  };
  // Truncated files first: everything else maps files at full size.
  for (const scan_repair& r : scan.repairs) {
    if (r.what != scan_repair::kind::extend_file) continue;
    const auto path = dir / format::segment_file_name(r.index);
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(r.begin)) != 0 ||
        ::fallocate(fd, 0, 0, static_cast<off_t>(r.value)) != 0) {
      error = "cannot extend " + path.string() + ": " + std::strerror(errno);
      if (fd >= 0) ::close(fd);
      return io_status::io_error;
    }
    ::close(fd);
  }
  bool removed = false;
  for (const scan_repair& r : scan.repairs) {
    if (r.what == scan_repair::kind::extend_file) continue;
    if (r.what == scan_repair::kind::remove_file) {
      open.erase(r.index);
      const auto path = dir / format::segment_file_name(r.index);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        error = "cannot remove " + path.string() + ": " + std::strerror(errno);
        return io_status::io_error;
      }
      removed = true;
      continue;
    }
    segment_file* f = nullptr;
    if (io_status s = get(r.index, f); s != io_status::ok) return s;
    if (r.what == scan_repair::kind::zero_range) {
      if (r.begin < format::kHeaderSize || r.end > f->size() || r.begin > r.end) {
        error = "bad repair range";
        return io_status::invalid_argument;
      }
      std::memset(f->data() + r.begin, 0, r.end - r.begin);
    } else {
      f->store_first_seq(r.value);
    }
  }
  for (auto& [index, f] : open) {
    if (f->sync_data() != io_status::ok) {
      error = "cannot sync " + f->path().string() + ": " + std::strerror(errno);
      return io_status::io_error;
    }
  }
  if (removed) return sync_directory(dir, error);
  return io_status::ok;
}

void fill_report(const scan_result& scan, recovery_report& report) {
  report.head = scan.head;
  report.first_seq = scan.first_seq;
  report.records = scan.records;
  report.segments = scan.segments;
  report.dropped_bytes = scan.dropped_bytes;
  report.corrupt = scan.status == io_status::corrupt;
  report.corrupt_segment = scan.corrupt_segment;
  report.corrupt_offset = scan.corrupt_offset;
  report.corrupt_seq = scan.corrupt_seq;
  if (scan.status == io_status::corrupt) {
    report.message = "journal corrupt before its tail at segment " +
                     format::segment_file_name(scan.corrupt_segment) + " offset " +
                     std::to_string(scan.corrupt_offset) + " seq " + std::to_string(scan.corrupt_seq) +
                     ": " + scan.reason + "; refusing to open";
    return;
  }
  if (scan.status == io_status::io_error) {
    report.message = "cannot read journal: " + scan.reason;
    return;
  }
  std::string m = "recovered " + std::to_string(scan.records) + " records";
  if (scan.records) m += " (seq " + std::to_string(scan.first_seq) + ".." + std::to_string(scan.head) + ")";
  m += " in " + std::to_string(scan.segments) + " segment file(s)";
  if (scan.dropped_bytes) m += "; dropped " + std::to_string(scan.dropped_bytes) + " bytes";
  if (!scan.tail_note.empty()) m += ": " + scan.tail_note;
  report.message = m;
}

}  // namespace rill::store
