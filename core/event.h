#pragma once
// The event body (PROTOCOL.md "Events"), as published on the feed and stored
// in the journal. Layout: one MessagePack map whose fields rill always writes
// in this order (readers must still accept any order):
//
//   seq  uint   global position, dense from 1
//   ts   uint   wall-clock ns since the Unix epoch (core daemon)
//   type str    event type, e.g. CUSTOMER_CREATED
//   agg  str    aggregate type
//   id   str    aggregate id
//   ver  uint   aggregate version after the event (1 = created)
//   data map    payload (the command's data)
//   key  str    idempotency key        (only if present)
//   corr str    correlation id         (only if present)
//
// Unknown fields are ignored by readers (a daemon may add fields).
// Thread-safety: pure functions; thread-safe. Never throw (except bad_alloc
// from out_buffer).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/buffer.h"
#include "core/error.h"
#include "core/msgpack.h"

namespace rill {

// An event's fields as views. Empty key / corr = absent.
// Borrows: the views point into the bytes it was decoded from (or whatever the
// writer filled it with), and data into a zone.
struct event_view {
  uint64_t seq = 0, ts = 0, ver = 0;
  std::string_view type, agg, id, key, corr;
  const msgpack::object* data = nullptr;  // a map; nullptr = {}
  // For encode_event only: when not empty, the encoding of `data` (one map),
  // written as is instead of packing data again.
  std::span<const char> data_raw;
};

// Appends the encoded body to out (does not clear it).
void encode_event(out_buffer& out, const event_view& e);

// Decodes and type-checks an event body (all of seq ts type agg id ver data
// required, key/corr optional strings). Strings reference `body`; the data
// tree lives in zone. On failure returns bad_request and, if message is given,
// says why.
errc decode_event(std::span<const char> body, msgpack::zone& zone, event_view& out,
                  std::string* message = nullptr);

// The fields needed to route and index an event, read without a zone.
struct event_head {
  uint64_t seq = 0, ver = 0;
  std::string_view type, agg, id, key;
};

// Reads seq, type, agg, id, ver, key from an encoded body. Fast when the
// fields are in rill's order; falls back to a generic walk of the map
// otherwise. False when the body is malformed or a required field is missing.
bool peek_event(std::span<const char> body, event_head& out);

// What kind of event a body holds: its first four fields.
struct event_kind_head {
  uint64_t seq = 0, ts = 0;
  std::string_view type, agg;
};

// Reads seq, ts, type and agg when the body starts the way rill writes it (a
// fixmap whose first four keys are seq ts type agg, read with
// core/msgpack_raw.h); false otherwise, and the caller falls back to
// peek_event or a full decode. Looks at nothing after agg: true does not
// mean the body decodes. About a third of peek_event's cost on rill's
// events. Never throws.
bool peek_event_kind(std::span<const char> body, event_kind_head& out);

// The topic of an event on the feed: "<agg>/<type>". Appends to out.
void append_topic(out_buffer& out, std::string_view agg, std::string_view type);

}  // namespace rill
