#pragma once
// projector_decode: turns stored event bodies into event_views for apply(),
// the hot path of catch-up and rebuild.
//
// Fast path: an event in the exact layout rill-core writes (core/event.h:
// seq ts type agg id ver data [key] [corr]) is read with a bounds-checked
// cursor; strings are views into the body and only the `data` value is built
// as a msgpack::object tree, directly in the zone (no msgpack-c unpacker,
// no second pass). It trusts the journal record's checksum for the UTF-8 of
// strings: rill-core checked them before appending. Anything else (another
// field order, unknown types, trailing bytes, deep nesting) goes to
// decode_event(), which checks everything.
//
// One zone is reused for every event (cleared before each decode; it keeps
// its first chunk, so decoding allocates nothing once warmed up).
//
// An event that does not decode (it passed the journal's checksum, so it was
// written that way) is skipped by every instance alike - the projection
// stays deterministic - and counted; the caller logs it.
//
// Ownership: the view's strings point into the body, its data into the zone;
// valid until the next decode(). Thread-safety: none (one per thread).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/event.h"
#include "core/msgpack.h"

namespace rill::readmodels {

// The fast path alone: true and `out` filled when `body` is a canonical
// event; false (out unspecified) otherwise. Never throws.
bool decode_canonical_event(std::span<const char> body, msgpack::zone& zone, event_view& out);

// What kind of event a body holds (core/event.h; it reads with the same
// raw readers as the fast path, so every body decode_canonical_event
// accepts peeks).
using rill::event_kind_head;
using rill::peek_event_kind;

class event_decoder {
 public:
  event_decoder() : zone_(kZoneChunk) {}
  // ok, or bad_request with `why` set.
  errc decode(std::span<const char> body, event_view& out, std::string& why) {
    zone_.clear();
    if (decode_canonical_event(body, zone_, out)) return errc::ok;
    zone_.clear();
    return decode_event(body, zone_, out, &why);
  }

 private:
  static constexpr size_t kZoneChunk = 16 << 10;
  msgpack::zone zone_;
};

}  // namespace rill::readmodels
