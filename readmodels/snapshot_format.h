#pragma once
// The on-disk format of a read-model snapshot, version 1. FROZEN: every value
// and offset below is part of the format; changing one needs a new version.
// docs/read-models.md ("Snapshots") describes the same thing in prose.
//
// A model's snapshots live in D/models/<name>/, one file per snapshot, named
// snap-%020llu.rsnap after the seq it was taken at (so that the names sort by
// seq). A snapshot is first written as <name>.partial, flushed (fdatasync),
// renamed to its final name, and the directory is fsynced; stray .partial
// files are removed at start. All integers are little-endian.
//
//    0                   8                  12                 16
//   +-------------------+------------------+------------------+
//   | magic "RILLSNAP"  | u32 version = 1  | u32 hdr size = 64|
//   +-------------------+------------------+------------------+
//   16  u64 seq: the last event applied to the saved state
//   24  u64 body length in bytes
//   32  u64 body checksum = XXH3_64bits(body)
//   40  u64 event fingerprint = XXH3_64bits(seq as 8 LE bytes ++ ts as 8 LE
//           bytes) of the event at seq (0 for seq 0). Ties the snapshot to the
//           journal it was built from: at load, the journal's event at seq
//           must have the same fingerprint (ts is the core's nanosecond clock,
//           so another journal's event at that seq has another one).
//   48  u64 created, nanoseconds since the Unix epoch
//   56  u16 model name length (1..kMaxNameLength)
//   58  u16 reserved, zero
//   60  u32 header checksum = low 32 bits of XXH3_64bits(bytes 0..60 ++ name)
//   64  model name (name length bytes), zero padding to a multiple of 8
//   ..  body: exactly what read_model::save() wrote
//
// A file is valid only if the magic, version, header size, reserved bytes,
// name, header checksum, body length (equal to the rest of the file) and
// body checksum all check out.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace rill::readmodels::snapshot_format {

static_assert(std::endian::native == std::endian::little,
              "rill snapshots: little-endian hosts only");

inline constexpr char kMagic[8] = {'R', 'I', 'L', 'L', 'S', 'N', 'A', 'P'};
inline constexpr uint32_t kVersion = 1;
inline constexpr uint32_t kHeaderSize = 64;
inline constexpr size_t kMaxNameLength = 255;

// Header field offsets.
inline constexpr size_t kOffMagic = 0;
inline constexpr size_t kOffVersion = 8;
inline constexpr size_t kOffHeaderSize = 12;
inline constexpr size_t kOffSeq = 16;
inline constexpr size_t kOffBodyLength = 24;
inline constexpr size_t kOffBodyChecksum = 32;
inline constexpr size_t kOffEventFingerprint = 40;
inline constexpr size_t kOffCreated = 48;
inline constexpr size_t kOffNameLength = 56;
inline constexpr size_t kOffReserved = 58;
inline constexpr size_t kOffHeaderChecksum = 60;

inline constexpr const char* kFilePrefix = "snap-";
inline constexpr const char* kFileSuffix = ".rsnap";
inline constexpr const char* kPartialSuffix = ".partial";

struct header {
  uint64_t seq = 0;
  uint64_t body_length = 0;
  uint64_t body_checksum = 0;
  uint64_t event_fingerprint = 0;
  uint64_t created_ns = 0;
  std::string model;
};

// Bytes before the body for a model name of this length (64 + padded name).
constexpr size_t prefix_size(size_t name_length) {
  return kHeaderSize + ((name_length + 7) & ~size_t{7});
}

// XXH3_64bits of `bytes` (the body checksum). Thread-safe.
uint64_t checksum(std::span<const char> bytes);
// The event fingerprint described above (0 for seq 0). Thread-safe.
uint64_t event_fingerprint(uint64_t seq, uint64_t ts);

// Appends the header and padded name for `h` to `out`; h.body_length and
// h.body_checksum must already describe the body that follows.
void encode_prefix(const header& h, std::string& out);

enum class check : uint8_t {
  ok,
  truncated,  // shorter than its header, name or declared body
  bad_magic,
  bad_version,
  bad_header,    // header size, reserved bytes or name length wrong
  bad_checksum,  // header checksum mismatch
  bad_length,    // bytes after the body
  bad_body,      // body checksum mismatch
};
const char* to_string(check c);

// Checks a whole snapshot file's bytes; on ok fills h and sets body to the
// body bytes (a view into `file`). Never throws.
check decode(std::span<const char> file, header& h, std::span<const char>& body);

// "snap-00000000000000001234.rsnap".
std::string file_name(uint64_t seq);
// The seq in a final snapshot file name; false if it is not one.
bool parse_file_name(std::string_view name, uint64_t& seq);

}  // namespace rill::readmodels::snapshot_format
