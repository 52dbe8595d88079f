#include "store/segment_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>

#include "store/segment_dir.h"

namespace rill::store {

namespace bip = boost::interprocess;

// Keeps the Boost objects out of the header.
class segment_file::mapping {
 public:
  bip::mapped_region region;
};

namespace {

std::string errno_text(const char* what, const std::filesystem::path& p, int err) {
  return std::string(what) + " " + p.string() + ": " + std::strerror(err);
}

}  // namespace

segment_file::~segment_file() {
  map_.reset();
  if (fd_ >= 0) ::close(fd_);
}

io_status segment_file::open(const std::filesystem::path& file, access a, bool keep_fd,
                             uint32_t expected_index, std::unique_ptr<segment_file>& out,
                             std::string& error, bool allow_short) {
  const bool rw = a == access::read_write;
  int fd = ::open(file.c_str(), (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) {
    error = errno_text("cannot open", file, errno);
    return io_status::io_error;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = errno_text("cannot stat", file, errno);
    ::close(fd);
    return io_status::io_error;
  }
  char hdr[format::kHeaderSize];
  if (static_cast<uint64_t>(st.st_size) < format::kHeaderSize ||
      ::pread(fd, hdr, sizeof hdr, 0) != static_cast<ssize_t>(sizeof hdr)) {
    error = "segment " + file.filename().string() + ": file shorter than its header";
    ::close(fd);
    return io_status::corrupt;
  }
  format::segment_header h;
  format::header_check hc = format::decode_header(std::span<const char, format::kHeaderSize>(hdr), h);
  if (hc != format::header_check::ok) {
    error = "segment " + file.filename().string() + ": " + format::to_string(hc);
    ::close(fd);
    return io_status::corrupt;
  }
  if (h.index != expected_index) {
    error = "segment " + file.filename().string() + ": header says index " + std::to_string(h.index);
    ::close(fd);
    return io_status::corrupt;
  }
  uint64_t map_size = h.segment_size;
  if (allow_short && static_cast<uint64_t>(st.st_size) < h.segment_size &&
      static_cast<uint64_t>(st.st_size) >= format::kHeaderSize + format::kEndMarkerSize) {
    map_size = static_cast<uint64_t>(st.st_size) & ~uint64_t{7};
  }
  if (static_cast<uint64_t>(st.st_size) < map_size) {
    error = "segment " + file.filename().string() + ": file has " + std::to_string(st.st_size) +
            " bytes, header says " + std::to_string(h.segment_size);
    ::close(fd);
    return io_status::corrupt;
  }
  auto seg = std::unique_ptr<segment_file>(new segment_file());
  try {
    bip::file_mapping fm(file.c_str(), rw ? bip::read_write : bip::read_only);
    seg->map_ = std::make_unique<mapping>();
    seg->map_->region = bip::mapped_region(fm, rw ? bip::read_write : bip::read_only, 0,
                                           static_cast<std::size_t>(map_size));
  } catch (const std::exception& e) {
    error = "cannot map " + file.string() + ": " + e.what();
    ::close(fd);
    return io_status::io_error;
  }
  seg->base_ = static_cast<char*>(seg->map_->region.get_address());
  seg->size_ = map_size;
  if (rw) {
    // No fault-around or readahead on the writer's mapping: the kernel then
    // backs each fault with a single page instead of a large folio. A
    // flush writes back whole dirty folios, and with large folios (ext4 on
    // Linux 6.18 here) every group commit rewrote megabytes for a few
    // hundred appended records (bench/RESULTS.md, "Flush write amplification").
    ::madvise(seg->base_, map_size, MADV_RANDOM);
  }
  seg->file_size_ = static_cast<uint64_t>(st.st_size);
  seg->index_ = expected_index;
  seg->path_ = file;
  seg->header_ = h;
  if (keep_fd) {
    seg->fd_ = fd;
  } else {
    ::close(fd);
  }
  out = std::move(seg);
  return io_status::ok;
}

io_status segment_file::create(const std::filesystem::path& dir, uint32_t index, uint64_t size,
                               uint64_t created_ns, std::unique_ptr<segment_file>& out,
                               std::string& error) {
  const std::filesystem::path final_path = dir / format::segment_file_name(index);
  std::filesystem::path tmp = final_path;
  tmp += format::kTempSuffix;
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = errno_text("cannot create", tmp, errno);
    return io_status::io_error;
  }
  auto fail = [&](const char* what, int err) {
    error = errno_text(what, tmp, err);
    ::close(fd);
    ::unlink(tmp.c_str());
    return io_status::io_error;
  };
  int rc = ::fallocate(fd, 0, 0, static_cast<off_t>(size));
  if (rc != 0 && (errno == EOPNOTSUPP || errno == ENOSYS)) {
    rc = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
    if (rc != 0) return fail("cannot allocate", rc);
  } else if (rc != 0) {
    return fail("cannot allocate", errno);
  }
  char hdr[format::kHeaderSize];
  format::segment_header h;
  h.index = index;
  h.segment_size = size;
  h.created_ns = created_ns;
  format::encode_header(h, std::span<char, format::kHeaderSize>(hdr));
  if (::pwrite(fd, hdr, sizeof hdr, 0) != static_cast<ssize_t>(sizeof hdr)) {
    return fail("cannot write header of", errno ? errno : EIO);
  }
  if (::fdatasync(fd) != 0) return fail("cannot sync", errno);
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) return fail("cannot rename", errno);
  ::close(fd);
  io_status s = sync_directory(dir, error);
  if (s != io_status::ok) return s;
  return open(final_path, access::read_write, true, index, out, error);
}

uint64_t segment_file::load_first_seq() const {
  return std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(base_ + format::kHdrFirstSeq))
      .load(std::memory_order_acquire);
}

void segment_file::store_first_seq(uint64_t seq) {
  std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(base_ + format::kHdrFirstSeq))
      .store(seq, std::memory_order_release);
}

io_status segment_file::sync_data() const {
  if (fd_ < 0) return io_status::invalid_argument;
  return ::fdatasync(fd_) == 0 ? io_status::ok : io_status::io_error;
}

io_status segment_file::sync_range(uint64_t from, uint64_t to) const {
  if (to > size_) to = size_;
  if (from >= to) return io_status::ok;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t begin = from & ~(page - 1);
  return ::msync(base_ + begin, to - begin, MS_SYNC) == 0 ? io_status::ok : io_status::io_error;
}

}  // namespace rill::store
