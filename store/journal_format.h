#pragma once
// The on-disk format of the rill journal, version 1. FROZEN: every value and
// offset below is part of the format; changing one needs a new version.
// docs/journal-format.md describes the same thing in prose.
//
// A journal is a directory of segment files named seg-%010u.rjl
// (seg-0000000001.rjl, seg-0000000002.rjl, ...), indices dense from the
// first one. Each file is preallocated (fallocate, zero-filled) to the
// segment size and starts with a 64-byte header. All integers are
// little-endian. The directory also holds LOCK (the writer's flock) and,
// transiently, seg-*.rjl.tmp files being prepared (removed at open).
//
// Segment header (offset 0, 64 bytes):
//
//    0                   8                  12                 16
//   +-------------------+------------------+------------------+
//   | magic "RILLJRNL"  | u32 version = 1  | u32 hdr size = 64|
//   +-------------------+------------------+------------------+
//   16  u64 segment index (1, 2, ...; equals the file name's number)
//   24  u64 segment size in bytes (equals the file size)
//   32  u64 created, nanoseconds since the Unix epoch
//   40  u64 first seq: seq of the segment's first record, stored with a
//           release store once that record is PUBLISHED; 0 until then.
//           Not covered by the header checksum (it is written later).
//   48  12 bytes reserved, zero
//   60  u32 header checksum = low 32 bits of XXH3_64bits(bytes 0..40)
//
// Records start at offset 64. Each record is 8-byte aligned:
//
//    0                               4                               8
//   +-------------------------------+-------------------------------+
//   | u32 body length               | u32 checksum                  |  commit word
//   +-------------------------------+-------------------------------+  (one u64)
//   | u64 seq                                                       |
//   +---------------------------------------------------------------+
//   | body (length bytes) ... zero padding to a multiple of 8       |
//   +---------------------------------------------------------------+
//
//   checksum = low 32 bits of XXH3_64bits(seq as 8 LE bytes ++ length as
//              4 LE bytes ++ body)
//
// Publish rule: the writer writes seq and body first, then the commit word
// with a single release store (std::atomic_ref<uint64_t>); readers load the
// commit word with acquire. A zero commit word means "no record here (yet)".
// A group of records is published by storing every commit word but the
// group's first one, then the first one, so readers see the whole group or
// none of it.
//
// End of segment: the commit word kEndMarker (length 0xFFFFFFFF, checksum
// 0x454E4421 "END!") means "continue at offset 64 of the next segment". The
// writer keeps 8 bytes free after every record for it: a record that does
// not fit (record + 8) rolls over to the next segment. Seqs are dense: each
// record's seq is the previous one + 1; seqs are 1 .. 2^64-2.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace rill::store::format {

static_assert(std::endian::native == std::endian::little, "rill journal: little-endian hosts only");

inline constexpr char kMagic[8] = {'R', 'I', 'L', 'L', 'J', 'R', 'N', 'L'};
inline constexpr uint32_t kVersion = 1;
inline constexpr uint32_t kHeaderSize = 64;

// Header field offsets.
inline constexpr size_t kHdrMagic = 0;
inline constexpr size_t kHdrVersion = 8;
inline constexpr size_t kHdrHeaderSize = 12;
inline constexpr size_t kHdrIndex = 16;
inline constexpr size_t kHdrSegmentSize = 24;
inline constexpr size_t kHdrCreated = 32;
inline constexpr size_t kHdrFirstSeq = 40;
inline constexpr size_t kHdrReserved = 48;
inline constexpr size_t kHdrChecksum = 60;
inline constexpr size_t kHdrChecksummedBytes = 40;

// Record layout.
inline constexpr size_t kRecCommit = 0;
inline constexpr size_t kRecSeq = 8;
inline constexpr size_t kRecBody = 16;
inline constexpr size_t kRecordHeaderSize = 16;
inline constexpr size_t kAlign = 8;
inline constexpr size_t kEndMarkerSize = 8;

inline constexpr uint32_t kEndLength = 0xFFFFFFFFu;
inline constexpr uint32_t kEndChecksum = 0x454E4421u;  // "END!"
inline constexpr uint64_t kEndMarker = (uint64_t{kEndChecksum} << 32) | kEndLength;

// Seqs are 1..kMaxSeq (all ones is never a valid seq).
inline constexpr uint64_t kMaxSeq = UINT64_MAX - 1;

// Segment sizes: rounded up to the page size by the writer.
inline constexpr uint64_t kMinSegmentSize = 64ull << 10;
inline constexpr uint64_t kMaxSegmentSize = 1ull << 40;

constexpr uint64_t align8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }
// Bytes a record with this body length occupies (header + padded body).
constexpr uint64_t record_size(uint64_t body_len) { return kRecordHeaderSize + align8(body_len); }
// Largest body a segment of this size can hold.
constexpr uint64_t max_body_size(uint64_t segment_size) {
  return segment_size - kHeaderSize - kRecordHeaderSize - kEndMarkerSize;
}

constexpr uint64_t make_commit(uint32_t length, uint32_t checksum) {
  return uint64_t{length} | (uint64_t{checksum} << 32);
}
constexpr uint32_t commit_length(uint64_t w) { return static_cast<uint32_t>(w); }
constexpr uint32_t commit_checksum(uint64_t w) { return static_cast<uint32_t>(w >> 32); }

// Record checksum as defined above. Thread-safe.
uint32_t record_checksum(uint64_t seq, const char* body, uint32_t length);

// "seg-0000000042.rjl".
std::string segment_file_name(uint32_t index);
// Parses a segment file name; 0 if it is not one (indices start at 1).
uint32_t parse_segment_file_name(std::string_view name);

inline constexpr const char* kLockFileName = "LOCK";
inline constexpr const char* kTempSuffix = ".tmp";

// Little-endian field access into a byte buffer (unaligned-safe).
inline uint64_t load_u64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint32_t load_u32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void store_u64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline void store_u32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }

// Decoded segment header.
struct segment_header {
  uint32_t version = kVersion;
  uint64_t index = 0;
  uint64_t segment_size = 0;
  uint64_t created_ns = 0;
};

// Writes a complete header (first seq 0) into out[0..64).
void encode_header(const segment_header& h, std::span<char, kHeaderSize> out);

enum class header_check : uint8_t { ok, bad_magic, bad_version, bad_size, bad_checksum };
// Checks magic, version, header size, reserved bytes and checksum; fills h.
header_check decode_header(std::span<const char, kHeaderSize> in, segment_header& h);
const char* to_string(header_check c);

}  // namespace rill::store::format
