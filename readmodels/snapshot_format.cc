#include "readmodels/snapshot_format.h"

#include <cstdio>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace rill::readmodels::snapshot_format {
namespace {

uint64_t load_u64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
uint32_t load_u32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint16_t load_u16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
void put(std::string& out, size_t at, const void* v, size_t n) {
  std::memcpy(out.data() + at, v, n);
}

// Low 32 bits of XXH3 over header bytes 0..60 followed by the name.
uint32_t header_checksum(const char* hdr, std::string_view name) {
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  XXH3_64bits_update(&st, hdr, kOffHeaderChecksum);
  XXH3_64bits_update(&st, name.data(), name.size());
  return static_cast<uint32_t>(XXH3_64bits_digest(&st));
}

}  // namespace

uint64_t checksum(std::span<const char> bytes) {
  return XXH3_64bits(bytes.data(), bytes.size());
}

uint64_t event_fingerprint(uint64_t seq, uint64_t ts) {
  if (seq == 0) return 0;
  char buf[16];
  std::memcpy(buf, &seq, 8);
  std::memcpy(buf + 8, &ts, 8);
  return XXH3_64bits(buf, sizeof buf);
}

void encode_prefix(const header& h, std::string& out) {
  const size_t at = out.size();
  out.resize(at + prefix_size(h.model.size()), '\0');
  std::string hdr(kHeaderSize, '\0');
  put(hdr, kOffMagic, kMagic, sizeof kMagic);
  put(hdr, kOffVersion, &kVersion, 4);
  put(hdr, kOffHeaderSize, &kHeaderSize, 4);
  put(hdr, kOffSeq, &h.seq, 8);
  put(hdr, kOffBodyLength, &h.body_length, 8);
  put(hdr, kOffBodyChecksum, &h.body_checksum, 8);
  put(hdr, kOffEventFingerprint, &h.event_fingerprint, 8);
  put(hdr, kOffCreated, &h.created_ns, 8);
  const auto name_len = static_cast<uint16_t>(h.model.size());
  put(hdr, kOffNameLength, &name_len, 2);
  const uint32_t sum = header_checksum(hdr.data(), h.model);
  put(hdr, kOffHeaderChecksum, &sum, 4);
  std::memcpy(out.data() + at, hdr.data(), kHeaderSize);
  std::memcpy(out.data() + at + kHeaderSize, h.model.data(), h.model.size());
}

const char* to_string(check c) {
  switch (c) {
    case check::ok:
      return "ok";
    case check::truncated:
      return "truncated";
    case check::bad_magic:
      return "bad magic";
    case check::bad_version:
      return "unsupported version";
    case check::bad_header:
      return "malformed header";
    case check::bad_checksum:
      return "header checksum mismatch";
    case check::bad_length:
      return "length mismatch";
    case check::bad_body:
      return "body checksum mismatch";
  }
  return "unknown";
}

check decode(std::span<const char> file, header& h, std::span<const char>& body) {
  if (file.size() < kHeaderSize) return check::truncated;
  const char* p = file.data();
  if (std::memcmp(p + kOffMagic, kMagic, sizeof kMagic) != 0) return check::bad_magic;
  if (load_u32(p + kOffVersion) != kVersion) return check::bad_version;
  if (load_u32(p + kOffHeaderSize) != kHeaderSize) return check::bad_header;
  if (load_u16(p + kOffReserved) != 0) return check::bad_header;
  const size_t name_len = load_u16(p + kOffNameLength);
  if (name_len == 0 || name_len > kMaxNameLength) return check::bad_header;
  const size_t prefix = prefix_size(name_len);
  if (file.size() < prefix) return check::truncated;
  const std::string_view name(p + kHeaderSize, name_len);
  if (header_checksum(p, name) != load_u32(p + kOffHeaderChecksum)) return check::bad_checksum;
  for (size_t i = kHeaderSize + name_len; i < prefix; ++i)
    if (p[i] != 0) return check::bad_header;
  const uint64_t body_len = load_u64(p + kOffBodyLength);
  const uint64_t rest = file.size() - prefix;
  if (body_len > rest) return check::truncated;
  if (body_len < rest) return check::bad_length;
  std::span<const char> b(p + prefix, body_len);
  if (checksum(b) != load_u64(p + kOffBodyChecksum)) return check::bad_body;
  h.seq = load_u64(p + kOffSeq);
  h.body_length = body_len;
  h.body_checksum = load_u64(p + kOffBodyChecksum);
  h.event_fingerprint = load_u64(p + kOffEventFingerprint);
  h.created_ns = load_u64(p + kOffCreated);
  h.model.assign(name);
  body = b;
  return check::ok;
}

std::string file_name(uint64_t seq) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%020llu%s", kFilePrefix, static_cast<unsigned long long>(seq),
                kFileSuffix);
  return buf;
}

bool parse_file_name(std::string_view name, uint64_t& seq) {
  const std::string_view prefix = kFilePrefix, suffix = kFileSuffix;
  if (name.size() != prefix.size() + 20 + suffix.size() || !name.starts_with(prefix) ||
      !name.ends_with(suffix))
    return false;
  uint64_t v = 0;
  for (size_t i = prefix.size(); i < prefix.size() + 20; ++i) {
    const char c = name[i];
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  seq = v;
  return true;
}

}  // namespace rill::readmodels::snapshot_format
