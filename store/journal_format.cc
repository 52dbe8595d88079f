#include "store/journal_format.h"

#include <cstdio>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace rill::store::format {

namespace {

// Copies n >= 16 bytes in 16-byte words, the last word overlapping its
// predecessor. GCC turns a plain memcpy (or a word loop) of a length it does
// not know into `rep movsq`, which cost more than the hash itself on the
// ~150-byte events here: BM_read_journal ran 25% faster without it
// (bench/RESULTS.md, session 13).
void copy_words(char* dst, const char* src, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    std::memcpy(dst + i, src + i, 16);
    asm volatile("" ::: "memory");  // not a memcpy idiom
  }
  if (i < n) std::memcpy(dst + n - 16, src + n - 16, 16);
}

}  // namespace

uint32_t record_checksum(uint64_t seq, const char* body, uint32_t length) {
  // The checksummed bytes are seq ++ length ++ body; small records are hashed
  // in one shot from a stack copy, large ones streamed.
  constexpr size_t kOneShot = 1024;
  if (length <= kOneShot) {
    alignas(16) char buf[4 + 12 + kOneShot];
    char* const data = buf + 4;  // the body's copy 16-aligned
    store_u64(data, seq);
    store_u32(data + 8, length);
    if (length >= 16) {
      copy_words(data + 12, body, length);
    } else if (length) {
      std::memcpy(data + 12, body, length);
    }
    return static_cast<uint32_t>(XXH3_64bits(data, 12 + size_t{length}));
  }
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  char prefix[12];
  store_u64(prefix, seq);
  store_u32(prefix + 8, length);
  XXH3_64bits_update(&state, prefix, sizeof prefix);
  XXH3_64bits_update(&state, body, length);
  return static_cast<uint32_t>(XXH3_64bits_digest(&state));
}

std::string segment_file_name(uint32_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "seg-%010u.rjl", index);
  return buf;
}

uint32_t parse_segment_file_name(std::string_view name) {
  // Exactly "seg-" + 10 digits + ".rjl".
  if (name.size() != 18 || !name.starts_with("seg-") || !name.ends_with(".rjl")) return 0;
  uint64_t v = 0;
  for (size_t i = 4; i < 14; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return 0;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v == 0 || v > UINT32_MAX) return 0;
  return static_cast<uint32_t>(v);
}

static uint32_t header_checksum(const char* p) {
  return static_cast<uint32_t>(XXH3_64bits(p, kHdrChecksummedBytes));
}

void encode_header(const segment_header& h, std::span<char, kHeaderSize> out) {
  char* p = out.data();
  std::memset(p, 0, kHeaderSize);
  std::memcpy(p + kHdrMagic, kMagic, sizeof kMagic);
  store_u32(p + kHdrVersion, h.version);
  store_u32(p + kHdrHeaderSize, kHeaderSize);
  store_u64(p + kHdrIndex, h.index);
  store_u64(p + kHdrSegmentSize, h.segment_size);
  store_u64(p + kHdrCreated, h.created_ns);
  store_u32(p + kHdrChecksum, header_checksum(p));
}

header_check decode_header(std::span<const char, kHeaderSize> in, segment_header& h) {
  const char* p = in.data();
  if (std::memcmp(p + kHdrMagic, kMagic, sizeof kMagic) != 0) return header_check::bad_magic;
  if (load_u32(p + kHdrChecksum) != header_checksum(p)) return header_check::bad_checksum;
  h.version = load_u32(p + kHdrVersion);
  if (h.version != kVersion) return header_check::bad_version;
  if (load_u32(p + kHdrHeaderSize) != kHeaderSize) return header_check::bad_size;
  for (size_t i = kHdrReserved; i < kHdrChecksum; ++i) {
    if (p[i] != 0) return header_check::bad_checksum;
  }
  h.index = load_u64(p + kHdrIndex);
  h.segment_size = load_u64(p + kHdrSegmentSize);
  h.created_ns = load_u64(p + kHdrCreated);
  if (h.segment_size < kMinSegmentSize || h.segment_size > kMaxSegmentSize ||
      h.segment_size % kAlign != 0) {
    return header_check::bad_size;
  }
  return header_check::ok;
}

const char* to_string(header_check c) {
  switch (c) {
    case header_check::ok: return "ok";
    case header_check::bad_magic: return "bad magic";
    case header_check::bad_version: return "unsupported format version";
    case header_check::bad_size: return "bad header or segment size";
    case header_check::bad_checksum: return "header checksum mismatch";
  }
  return "unknown";
}

}  // namespace rill::store::format
