#pragma once
// Writing MessagePack into an out_buffer: a packer type and a fast packer of
// msgpack::object trees (msgpack-c's generic one goes through a visitor and
// is several times slower for the small maps of command data).
// Thread-safety: pure functions; thread-safe with distinct buffers.
#include <cstdint>
#include <string_view>

#include "core/buffer.h"
#include "core/msgpack.h"

namespace rill {

using packer = msgpack::packer<out_buffer>;

// A str (header and bytes).
inline void pack_str(packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

// Writes o (and everything in it) in the smallest encodings. Recursion depth
// is the tree's depth, which decode_msgpack bounds for trees built from input.
void pack_object(out_buffer& out, const msgpack::object& o);

}  // namespace rill
