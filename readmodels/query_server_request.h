#pragma once
// Decoding of query requests and encoding of query replies
// (PROTOCOL.md "Queries").
//
// Request, one MessagePack map (field order free; nil counts as absent):
//   model       str   optional; when present must name the endpoint's model
//   q           str   required, non-empty: the query name
//   args        map   optional (default {})
//   after       uint  optional: answer once the model has applied this seq
//   timeout_ms  uint  optional: how long to wait for `after` (default 1000;
//                     larger than the configured maximum is clamped to it)
//   req         any   optional: echoed in the reply
// Any other field is bad_request (it is most likely a typo).
//
// Replies:
//   {"ok": true, "seq": <applied>, "req"?: ..., "result": <value>}
//   {"ok": false, "error": <code>, "message": <text>, "req"?: ...}
//
// Ownership: the decoded views and objects point into the request bytes and
// the zone; both must outlive the request. Thread-safety: pure functions.
// Never throw.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/buffer.h"
#include "core/error.h"
#include "core/limits.h"
#include "core/msgpack.h"

namespace rill::readmodels {

struct query_request {
  std::string_view model;  // empty when absent
  std::string_view q;
  const msgpack::object* args = nullptr;  // always a map after a successful decode
  bool has_after = false;
  uint64_t after = 0;
  uint64_t timeout_ms = 0;  // already defaulted and clamped
  std::span<const char> req;  // the `req` value's bytes, echoed as sent; empty: none
};

struct query_decode_options {
  limits lim;                          // max_request_bytes, depth, elements
  uint64_t default_timeout_ms = 1000;  // when `after` comes without timeout_ms
  uint64_t max_timeout_ms = 60000;     // larger timeout_ms values are clamped
};

// ok, or too_large / bad_request with a message. On error out.req is still
// set when the request was a map with a decodable `req`, so the error reply
// can echo it.
errc decode_query(std::span<const char> bytes, msgpack::zone& zone, const query_decode_options& opt,
                  query_request& out, std::string& message);

// The reply header of a successful query: writes the map header and the
// "ok", "seq" and "req" fields and then the key "result"; the caller packs
// exactly one value after it.
// The `status` query's reply also carries head and events_applied at the top
// level, beside seq (PROTOCOL.md: "answers with at least seq, head and
// events_applied"); the result holds them too, with the rest.
struct status_fields {
  uint64_t head = 0;
  uint64_t events_applied = 0;
};
void begin_query_reply(out_buffer& out, uint64_t seq, std::span<const char> req,
                       const status_fields* status = nullptr);

// An error reply (core/reply.h encode_error, same layout).
void encode_query_error(out_buffer& out, errc code, std::string_view message,
                        std::span<const char> req);

// An empty map, for absent args. Thread-safe (immutable).
const msgpack::object& empty_map_object();

}  // namespace rill::readmodels
