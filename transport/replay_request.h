#pragma once
// Decoding of requests on the replay endpoint (PROTOCOL.md "Replay"),
// factored out of replay_server so that it can be tested and fuzzed alone:
//
//   {"from": seq, "max": n, "req"?}              range: from (0 means 1)
//   {"agg": t, "id": i, "from_ver": v, "req"?}   one aggregate's history
//   {"op": "ping", "req"?}                       ping
//
// `max` absent or nil means max_events; larger values are clamped to it; 0
// asks for no events (the reply still tells head). Requests are checked like
// commands (core/msgpack_decode.h, up to max_request_bytes, 1 MiB by
// default); errors carry the request's `req` whenever it can be found.
//
// Ownership: out.agg / out.id / out.req point into the request bytes or into
// `oh`'s zone; keep both alive while they are used.
// Thread-safety: pure function. Never throws.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/msgpack.h"

namespace rill::transport {

struct replay_request {
  enum class kind : uint8_t { ping, range, aggregate };
  kind k = kind::range;
  uint64_t from = 1;      // range: the first seq wanted (at least 1)
  uint64_t max = 0;       // events per reply: 0..max_events (0: none, the reply tells head)
  std::string_view agg;   // aggregate
  std::string_view id;    // aggregate
  uint64_t from_ver = 1;  // aggregate: the first version wanted (0 counts as 1)
  std::span<const char> req;  // its bytes, echoed in the reply; also set on most errors
};

// ok, or bad_request / too_large with `message` (the reply's error text).
errc decode_replay_request(std::span<const char> body, size_t max_request_bytes,
                           uint64_t max_events, msgpack::object_handle& oh, replay_request& out,
                           std::string& message);

}  // namespace rill::transport
