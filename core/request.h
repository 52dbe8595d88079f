#pragma once
// Decoding of the requests of the command endpoint (PROTOCOL.md "Commands"):
// a single command, a batch of commands, or an admin request (`op`).
//
// Wire layout (one MessagePack map; field order is free):
//   command: {"cmd": str, "agg": str, "id": str, "data"?: map, "expect"?: int,
//             "key"?: str, "corr"?: str, "req"?: any}
//   batch:   {"batch": [command map...], "atomic"?: bool, "req"?: any}
//   admin:   {"op": str, "req"?: any, ...op-specific fields}
// An optional field given as nil counts as absent. A map has exactly one of
// cmd / batch / op. Unknown top-level fields of a command or a batch are
// bad_request; an admin request's other fields are left to its handler
// (read them from `root`).
//
// Ownership: the decoded views and objects point into the request bytes
// (strings are not copied) and into the zone (the object tree). Both must
// outlive every use of the request. The caller clears the zone between
// messages. Thread-safety: pure functions; thread-safe. Never throw.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/limits.h"
#include "core/msgpack.h"

namespace rill {

// One command, decoded and type-checked (not yet validated against a schema).
struct command_request {
  std::string_view cmd, agg, id, key, corr;
  bool has_key = false, has_corr = false, has_expect = false;
  int64_t expect = 0;                     // >= 0 when has_expect
  const msgpack::object* data = nullptr;  // a map; nullptr = {}
  // data's encoding as the client sent it (a view into the request bytes),
  // when the decoder knows it; empty otherwise. The event is written with
  // these bytes instead of re-encoding data.
  std::span<const char> data_raw;
};

struct request {
  enum class kind : uint8_t { command, batch, admin } k = kind::command;
  command_request command;                 // kind::command
  const msgpack::object* batch = nullptr;  // kind::batch: the array; decode each element
                                           // with decode_command
  bool atomic = false;                     // kind::batch
  std::string_view op;                     // kind::admin
  std::span<const char> req;               // the `req` value's bytes to echo; empty: none
  const msgpack::object* root = nullptr;   // the whole request map
  std::span<const char> bytes;             // what root was decoded from
};

// For a request that failed to decode as a whole (too large, or bad
// MessagePack elsewhere in it): finds the top-level `req` field of a map with
// a cursor and returns its value's bytes if they are well-formed MessagePack
// within the limits, so the error reply can echo it. Best effort: empty on
// any doubt. Every ROUTER endpoint's decoder uses it.
std::span<const char> find_req(std::span<const char> bytes, const limits& lim);

// Whether a map names a key twice (keys compared as strings; keys of other
// types never match). JSON keeps only one of them, so such a map does not
// read back as it was sent.
bool has_duplicate_key(const msgpack::object& map);

// The bytes of the value of map entry `kv` of a tree decode_msgpack built
// from `bytes`: the zero-copy decoder leaves a key's string pointing into
// the request, and the value's encoding starts right after it. Empty when
// the key is not a string pointing into `bytes`.
std::span<const char> raw_value(const msgpack::object_kv& kv, std::span<const char> bytes);

// Parses `bytes` into `zone` and decodes the request. Returns ok, or the error
// code with a human message:
//   too_large   bytes.size() > lim.max_request_bytes, or a batch longer than
//               lim.max_batch;
//   bad_request not MessagePack, trailing bytes, not a map, too deep or too many
//               values, invalid UTF-8 in any string (data included), a missing
//               or mistyped field, an unknown field, cmd+batch+op mixed.
// On error out.req is still set when the root was a map with a `req` field
// (even for too_large, where only that field is checked), so the reply can
// echo it.
errc decode_request(std::span<const char> bytes, msgpack::zone& zone, const limits& lim,
                    request& out, std::string& message);

// Decodes one command map (a single command's root or a batch element):
// cmd/agg non-empty strings, id 1..lim.max_id_len bytes, key 1..max_key_len,
// corr 0..max_key_len (empty = absent), expect a non-negative integer, data a
// map. A `req` field is accepted and ignored. Checks the UTF-8 of its own
// string fields; nested data is covered by decode_request's check.
// `bytes`: what decode_request decoded `o` from (request::bytes), so that
// data_raw can be set; empty leaves data_raw empty.
errc decode_command(const msgpack::object& o, const limits& lim, command_request& out,
                    std::string& message, std::span<const char> bytes = {});

}  // namespace rill
