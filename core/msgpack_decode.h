#pragma once
// decode_msgpack: turns untrusted MessagePack bytes into a msgpack::object
// tree in one pass, with the guarantees of check_msgpack (exactly one
// complete value, depth <= lim.max_depth, at most lim.max_elements values,
// no container claiming more elements than bytes remain, every string valid
// UTF-8) checked while building. It replaces msgpack::unpack on the hot
// path: one pass instead of two, no exceptions, no heap allocation beyond the
// zone's chunks.
//
// Ownership: str / bin / ext objects point into `bytes` (zero-copy); arrays,
// maps and the root object live in `zone`. Both must outlive the tree.
// Thread-safety: a pure function; thread-safe with distinct zones.
#include <span>
#include <string>

#include "core/error.h"
#include "core/limits.h"
#include "core/msgpack.h"

namespace rill {

// ok with out pointing at the root object, or bad_request with a message
// (out is then nullptr; the zone may hold a partial tree, clear it as usual).
errc decode_msgpack(std::span<const char> bytes, msgpack::zone& zone, const limits& lim,
                    const msgpack::object*& out, std::string& message);

}  // namespace rill
