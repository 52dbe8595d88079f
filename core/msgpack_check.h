#pragma once
// Structural check of an untrusted MessagePack message, done with a cursor
// before msgpack-c builds any object from it. It guarantees that the bytes
// hold exactly one complete value, that no container is deeper than
// lim.max_depth, that the message has at most lim.max_elements values in
// all, that no container claims more elements than bytes remain (so a
// 5-byte header cannot make the decoder allocate gigabytes), and that every
// string, map keys included, is valid UTF-8.
//
// Thread-safety: a pure function; thread-safe. Never throws.
#include <span>
#include <string>

#include "core/error.h"
#include "core/limits.h"

namespace rill {

// ok, or bad_request with a message saying what is wrong and where (byte
// offset). Does not apply lim.max_request_bytes (the caller does, it is a
// different code).
errc check_msgpack(std::span<const char> bytes, const limits& lim, std::string& message);

}  // namespace rill
