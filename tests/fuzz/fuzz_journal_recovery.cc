// Fuzzes journal recovery, verify and the reader with arbitrary segment bytes.
//
// Input layout: byte 0 = flags, then the bytes placed after a valid 64-byte
// header of segment 1 (64 KiB segments).
//   flags bit 0: split the bytes over two segments (bytes 1-2 = split point,
//                little-endian; the segment bytes start at byte 3)
//   flags bit 1: truncate the first segment file after the bytes
//   flags bit 2: store bytes 3..10 into segment 1's header first-seq field
// Invariants checked (trap on violation): nothing crashes; when open()
// accepts the journal, two appended records land at head+1, head+2, and
// verify_journal and a reader then agree with the writer.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "store/journal_format.h"
#include "store/journal_reader.h"
#include "store/journal_verify.h"
#include "store/journal_writer.h"

namespace {

using namespace rill::store;

constexpr uint64_t kSeg = 64 << 10;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

std::filesystem::path base_dir() {
  // tmpfs keeps the fdatasyncs of open() and close() cheap.
  std::filesystem::path root = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string tmpl = (root / "rill-fuzz-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

void write_segment(const std::filesystem::path& dir, uint32_t index, const uint8_t* data,
                   size_t n, bool truncate, uint64_t first_seq) {
  std::vector<char> file(kSeg, 0);
  format::segment_header h;
  h.index = index;
  h.segment_size = kSeg;
  h.created_ns = 1;
  format::encode_header(h, std::span<char, format::kHeaderSize>(file.data(), format::kHeaderSize));
  format::store_u64(file.data() + format::kHdrFirstSeq, first_seq);
  n = std::min<size_t>(n, kSeg - format::kHeaderSize);
  if (n) std::memcpy(file.data() + format::kHeaderSize, data, n);
  const size_t size = truncate ? format::kHeaderSize + n : kSeg;
  const auto path = dir / format::segment_file_name(index);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) std::abort();
  if (::write(fd, file.data(), size) != static_cast<ssize_t>(size)) std::abort();
  ::close(fd);
}

void read_everything(const std::filesystem::path& dir, uint64_t probe) {
  journal_reader r(dir);
  record_view v;
  for (int i = 0; i < 20000 && r.next(v) == io_status::ok; ++i) {
    check(v.body.size() <= kSeg);
  }
  (void)r.last_seq();
  (void)r.seek(probe);
  (void)r.next(v);
  (void)r.seek(1);
  (void)r.next(v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const uint8_t* body = data + 1;
  size_t n = size - 1;
  static const std::filesystem::path root = base_dir();
  const std::filesystem::path dir = root / "journal";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir);

  uint64_t first_seq = 0;
  if ((flags & 4) && n >= 10) std::memcpy(&first_seq, body + 2, 8);
  if ((flags & 1) && n >= 2) {
    const size_t rest = n - 2;
    const size_t split = (size_t{body[0]} | size_t{body[1]} << 8) % (rest + 1);
    write_segment(dir, 1, body + 2, split, (flags & 2) != 0, first_seq);
    write_segment(dir, 2, body + 2 + split, rest - split, false, 0);
  } else {
    write_segment(dir, 1, body, n, (flags & 2) != 0, first_seq);
  }

  verify_report before = verify_journal(dir);
  read_everything(dir, n > 8 ? format::load_u64(reinterpret_cast<const char*>(body)) : 5);

  journal_options o;
  o.dir = dir;
  o.segment_size = kSeg;
  o.prefault_ahead = 0;
  recovery_report rep;
  auto w = journal_writer::open(o, rep);
  check((w == nullptr) == (before.status != io_status::ok));
  if (w) {
    check(rep.head == before.head);
    check(rep.records == before.records);
    check(rep.dropped_bytes == before.torn_tail_bytes);
    const uint64_t head = w->head();
    if (head >= format::kMaxSeq - 2) return 0;  // no room for two more seqs
    const uint64_t s1 = head == 0 ? 1 : head + 1;
    check(w->append(s1, std::string_view("fuzz-one")) == io_status::ok);
    check(w->append(s1 + 1, std::string_view("fuzz-two")) == io_status::ok);
    w->publish();
    w.reset();
    verify_report after = verify_journal(dir);
    check(after.status == io_status::ok);
    check(after.head == s1 + 1);
    check(after.torn_tail_bytes == 0);
    journal_reader r(dir);
    check(r.seek(s1) == io_status::ok);
    record_view v;
    check(r.next(v) == io_status::ok && v.seq == s1);
    check(r.next(v) == io_status::ok && v.seq == s1 + 1);
    check(r.next(v) == io_status::end_of_log);
  }
  return 0;
}
