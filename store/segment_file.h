#pragma once
// segment_file: one memory-mapped journal segment file (layout in
// store/journal_format.h), mapped whole with Boost.Interprocess.
//
// Ownership: owns the mapping and, when opened with keep_fd (the writer,
// the scanner), the file descriptor used for fallocate/fdatasync/SEEK_DATA.
// Readers drop the descriptor once mapped. Boost exceptions are caught here
// and turned into io_status values.
//
// Thread-safety: the object is immutable after open except through data();
// sync_data()/sync_range() may run on another thread than the one writing
// into the mapping.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "store/journal_format.h"
#include "store/status.h"

namespace rill::store {

class segment_file {
 public:
  enum class access : uint8_t { read_only, read_write };

  // Maps an existing segment file. Checks the header (index must equal
  // expected_index), and that the file holds the header's segment size.
  // corrupt on a bad header or short file (error says why), io_error when
  // the OS refuses. allow_short (the recovery scanner) maps a file shorter
  // than its segment size as it is: size() is then the file's size rounded
  // down to 8 and truncated() is true.
  static io_status open(const std::filesystem::path& file, access a, bool keep_fd,
                        uint32_t expected_index, std::unique_ptr<segment_file>& out,
                        std::string& error, bool allow_short = false);

  // Creates dir/seg-<index>.rjl atomically: writes a .tmp file, allocates
  // `size` zeroed bytes (fallocate), writes the header, fdatasyncs, renames,
  // fsyncs the directory; then maps it read-write with its fd kept.
  // io_error on failure (disk full included); no partial file is left.
  static io_status create(const std::filesystem::path& dir, uint32_t index, uint64_t size,
                          uint64_t created_ns, std::unique_ptr<segment_file>& out,
                          std::string& error);

  ~segment_file();
  segment_file(const segment_file&) = delete;
  segment_file& operator=(const segment_file&) = delete;

  char* data() const { return base_; }
  uint64_t size() const { return size_; }  // mapped bytes
  bool truncated() const { return size_ < header_.segment_size; }
  uint64_t file_size() const { return file_size_; }  // as found at open
  uint32_t index() const { return index_; }
  int fd() const { return fd_; }  // -1 when not kept
  const std::filesystem::path& path() const { return path_; }
  const format::segment_header& header() const { return header_; }

  // The header's first-seq field (0 = first record not yet published).
  uint64_t load_first_seq() const;
  // Release-stores the header's first-seq field. read_write only.
  void store_first_seq(uint64_t seq);

  // fdatasync of the file (needs the fd).
  [[nodiscard]] io_status sync_data() const;
  // msync(MS_SYNC) of [from, to) widened to pages.
  [[nodiscard]] io_status sync_range(uint64_t from, uint64_t to) const;

 private:
  segment_file() = default;
  class mapping;
  std::unique_ptr<mapping> map_;
  char* base_ = nullptr;
  uint64_t size_ = 0;
  uint64_t file_size_ = 0;
  uint32_t index_ = 0;
  int fd_ = -1;
  std::filesystem::path path_;
  format::segment_header header_;
};

}  // namespace rill::store
