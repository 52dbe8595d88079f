#pragma once
// Layout of the validator's checkpoint body (the aggregate index and the
// idempotency keys, valid for the journal up to `seq`). The file around it
// (partial file, flush, rename) is the core daemon's business.
//
// All integers little-endian. Frozen: changing anything bumps version.
//
//   0   magic    8 bytes  "RILLIDX1"
//   8   version  u32      = 1
//   12  flags    u32      = 0
//   16  seq      u64      last journal seq reflected
//   24  ntypes   u32      aggregate types that follow
//   28  reserved u32      = 0
//   32  per type:  u32 name_len, name bytes, u64 count,
//                  count x (u32 id_len, id bytes, u64 ver)
//       nkeys    u64
//       per key (oldest first): u32 key_len, key bytes, u64 seq, u64 ver
//   end-8 checksum u64    XXH3-64 of every byte before it
//
// A reader checks the magic, the version, the checksum and that every length
// stays inside the body before trusting any of it.
#include <cstddef>
#include <cstdint>

namespace rill::index_checkpoint {

inline constexpr char magic[8] = {'R', 'I', 'L', 'L', 'I', 'D', 'X', '1'};
inline constexpr uint32_t version = 1;
inline constexpr size_t header_size = 32;
inline constexpr size_t checksum_size = 8;
inline constexpr size_t seq_offset = 16;

}  // namespace rill::index_checkpoint
