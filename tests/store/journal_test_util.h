#pragma once
// Helpers shared by the store tests: a self-cleaning temp directory, record
// bodies derived from their seq, and raw access to segment files for damage.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/journal_format.h"
#include "store/journal_reader.h"
#include "store/journal_writer.h"
#include "tests/support/child_process.h"

namespace rill::store::testing {

// The shared temporary directory, with the journal's place in it.
class temp_dir : public rill::test::temp_dir {
 public:
  temp_dir() : rill::test::temp_dir("rill-store") {}
  std::filesystem::path journal() const { return path() / "journal"; }
};

// Deterministic body for a seq: length 1..max_len, bytes derived from seq.
inline std::string body_for(uint64_t seq, size_t max_len = 100) {
  size_t len = 1 + (seq * 2654435761u) % max_len;
  std::string s(len, '\0');
  for (size_t i = 0; i < len; ++i) s[i] = static_cast<char>((seq * 31 + i * 7) & 0xff);
  return s;
}

inline journal_options small_options(const std::filesystem::path& dir, uint64_t seg = 64 << 10) {
  journal_options o;
  o.dir = dir;
  o.segment_size = seg;
  o.prefault_ahead = 16 << 10;
  return o;
}

inline std::unique_ptr<journal_writer> open_writer(const journal_options& o) {
  recovery_report r;
  auto w = journal_writer::open(o, r);
  EXPECT_NE(w, nullptr) << r.message;
  return w;
}

// Appends and publishes seqs [from, to] one group of `group` records at a time.
inline void append_range(journal_writer& w, uint64_t from, uint64_t to, size_t group = 1,
                         size_t max_len = 100) {
  size_t n = 0;
  for (uint64_t s = from; s <= to; ++s) {
    std::string b = body_for(s, max_len);
    ASSERT_EQ(w.append(s, b), io_status::ok) << "seq " << s;
    if (++n % group == 0) w.publish();
  }
  w.publish();
}

// Reads everything from seq `from` and checks seqs and bodies; returns the
// last seq read (0 if none).
inline uint64_t read_all(const std::filesystem::path& dir, uint64_t from = 1, size_t max_len = 100) {
  journal_reader r(dir);
  EXPECT_EQ(r.seek(from), io_status::ok);
  record_view v;
  uint64_t expect = from, last = 0;
  io_status s;
  while ((s = r.next(v)) == io_status::ok) {
    EXPECT_EQ(v.seq, expect);
    if (v.seq != expect) return last;
    std::string b = body_for(v.seq, max_len);
    EXPECT_EQ(std::string(v.body.data(), v.body.size()), b) << "seq " << v.seq;
    last = v.seq;
    ++expect;
  }
  EXPECT_EQ(s, io_status::end_of_log);
  return last;
}

inline std::filesystem::path seg_path(const std::filesystem::path& dir, uint32_t index) {
  return dir / format::segment_file_name(index);
}

inline std::vector<char> read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

inline void write_at(const std::filesystem::path& p, uint64_t off, const void* data, size_t n) {
  int fd = ::open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, data, n, static_cast<off_t>(off)), static_cast<ssize_t>(n));
  ::close(fd);
}

inline uint64_t read_u64_at(const std::filesystem::path& p, uint64_t off) {
  uint64_t v = 0;
  int fd = ::open(p.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::pread(fd, &v, 8, static_cast<off_t>(off)), 8);
  ::close(fd);
  return v;
}

// Offset of the record with this seq inside its segment file (walks the
// chain of the given segment from offset 64), or 0.
inline uint64_t record_offset(const std::filesystem::path& dir, uint32_t index, uint64_t seq) {
  auto bytes = read_file(seg_path(dir, index));
  uint64_t off = format::kHeaderSize;
  while (off + 16 <= bytes.size()) {
    uint64_t w = format::load_u64(bytes.data() + off);
    if (w == 0 || w == format::kEndMarker) return 0;
    if (format::load_u64(bytes.data() + off + 8) == seq) return off;
    off += format::record_size(format::commit_length(w));
  }
  return 0;
}

}  // namespace rill::store::testing
