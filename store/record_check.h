#pragma once
// Checking one record of a mapped segment (layout in store/journal_format.h).
// Shared by the scanner (recovery, verify) and the reader. Never trusts the
// bytes: every length is checked against the segment before use.
// Stateless; thread-safe.
#include <cstdint>

namespace rill::store {

enum class record_state : uint8_t {
  ok,            // a valid record
  empty,         // zero commit word: nothing here (yet)
  end_marker,    // end-of-segment marker: continue in the next segment
  bad_length,    // length beyond the maximum, or record + marker room past the end
  bad_seq,       // seq is not the expected one (or 0)
  bad_checksum,  // checksum mismatch
};

const char* describe(record_state s);

struct record_info {
  uint64_t commit = 0;  // the commit word as loaded (acquire)
  uint64_t seq = 0;     // seq field (when the length was sane)
  uint32_t length = 0;  // body length
  uint64_t size = 0;    // bytes the record occupies (header + padded body)
};

// Loads the commit word at base+off with acquire and checks the record.
// off must be 8-aligned and off + 8 <= seg_size. expected_seq 0 accepts any
// seq >= 1. verify_checksum false skips the body hash (structure-only walk).
record_state check_record(const char* base, uint64_t seg_size, uint64_t off,
                          uint64_t expected_seq, bool verify_checksum, record_info& out);

// [begin, end) of the non-zero bytes in base[from, to), 8-aligned outward;
// begin == end when all zero. fd (or -1) lets holes be skipped via SEEK_DATA.
struct byte_range {
  uint64_t begin = 0;
  uint64_t end = 0;
  bool empty() const { return begin >= end; }
};
byte_range nonzero_extent(const char* base, int fd, uint64_t from, uint64_t to);

// True if an end-of-segment marker word is at any 8-aligned offset in
// [from, to).
bool contains_end_marker(const char* base, uint64_t from, uint64_t to);

// Looks for a valid record (checksum included) at 8-aligned offsets in
// (from, to) whose seq could follow a bad record at `from` that should have
// carried expected_seq (seq in [expected, expected + distance/16]; any seq
// when expected_seq is 0). Returns its offset, or 0 if none.
uint64_t find_valid_record_after(const char* base, uint64_t seg_size, uint64_t from, uint64_t to,
                                 uint64_t expected_seq);

}  // namespace rill::store
