#include "store/record_check.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "store/journal_format.h"

namespace rill::store {

using namespace format;

const char* describe(record_state s) {
  switch (s) {
    case record_state::ok: return "ok";
    case record_state::empty: return "empty commit word";
    case record_state::end_marker: return "end-of-segment marker";
    case record_state::bad_length: return "bad record length";
    case record_state::bad_seq: return "seq out of order";
    case record_state::bad_checksum: return "checksum mismatch";
  }
  return "unknown";
}

record_state check_record(const char* base, uint64_t seg_size, uint64_t off,
                          uint64_t expected_seq, bool verify_checksum, record_info& out) {
  const uint64_t w = std::atomic_ref<const uint64_t>(*reinterpret_cast<const uint64_t*>(base + off))
                         .load(std::memory_order_acquire);
  out.commit = w;
  if (w == 0) return record_state::empty;
  if (w == kEndMarker) return record_state::end_marker;
  const uint32_t len = commit_length(w);
  out.length = len;
  // The record plus room for the end marker must fit before the segment end.
  if (len > max_body_size(seg_size) || off + record_size(len) + kEndMarkerSize > seg_size) {
    return record_state::bad_length;
  }
  out.size = record_size(len);
  out.seq = load_u64(base + off + kRecSeq);
  if (out.seq == 0 || out.seq == kMaxSeq + 1 || (expected_seq != 0 && out.seq != expected_seq)) {
    return record_state::bad_seq;
  }
  if (verify_checksum && record_checksum(out.seq, base + off + kRecBody, len) != commit_checksum(w)) {
    return record_state::bad_checksum;
  }
  return record_state::ok;
}

namespace {

// Last non-zero byte range in a mapped range, scanning words.
void scan_words(const char* base, uint64_t from, uint64_t to, byte_range& r) {
  for (uint64_t off = from; off < to; off += 8) {
    uint64_t w = load_u64(base + off);
    if (w != 0) {
      if (r.empty()) r.begin = off;
      r.end = off + 8;
    }
  }
}

}  // namespace

byte_range nonzero_extent(const char* base, int fd, uint64_t from, uint64_t to) {
  byte_range r;
  from &= ~uint64_t{7};
  to &= ~uint64_t{7};
  if (from >= to) return r;
  if (fd < 0) {
    scan_words(base, from, to, r);
    return r;
  }
  // Visit only the ranges the filesystem reports as data (preallocated,
  // never-written extents read as holes and are zero).
  uint64_t pos = from;
  while (pos < to) {
    off_t d = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (d < 0) {
      if (errno != ENXIO) scan_words(base, pos, to, r);  // no SEEK_DATA: scan it all
      break;
    }
    const uint64_t data = static_cast<uint64_t>(d);
    if (data >= to) break;
    off_t h = ::lseek(fd, d, SEEK_HOLE);
    uint64_t hole = h < 0 ? to : static_cast<uint64_t>(h);
    hole = std::min(to, (hole + 7) & ~uint64_t{7});
    const uint64_t begin = std::max(pos, data & ~uint64_t{7});
    if (hole <= begin) hole = std::min(to, begin + 8);
    scan_words(base, begin, hole, r);
    pos = hole;
  }
  return r;
}

bool contains_end_marker(const char* base, uint64_t from, uint64_t to) {
  from = (from + 7) & ~uint64_t{7};
  for (uint64_t off = from; off + 8 <= to; off += 8) {
    if (load_u64(base + off) == kEndMarker) return true;
  }
  return false;
}

uint64_t find_valid_record_after(const char* base, uint64_t seg_size, uint64_t from, uint64_t to,
                                 uint64_t expected_seq) {
  if (to > seg_size - kEndMarkerSize) to = seg_size - kEndMarkerSize;
  for (uint64_t off = (from + 8 + 7) & ~uint64_t{7}; off + kRecordHeaderSize <= to; off += 8) {
    const uint64_t w = load_u64(base + off);
    if (w == 0 || w == kEndMarker) continue;
    const uint32_t len = commit_length(w);
    if (len > max_body_size(seg_size) || off + record_size(len) + kEndMarkerSize > seg_size) continue;
    const uint64_t seq = load_u64(base + off + kRecSeq);
    if (seq == 0) continue;
    if (expected_seq != 0 && (seq < expected_seq || seq - expected_seq > (off - from) / 16)) continue;
    if (record_checksum(seq, base + off + kRecBody, len) == commit_checksum(w)) return off;
  }
  return 0;
}

}  // namespace rill::store
