#pragma once
// event_source: where the runtime reads stored events from when the live
// feed is not enough (a late start, a restart, a gap, a rebuild): the journal
// itself through a read-only mapping (same host, event_source_journal.h), or
// rill-core's replay endpoint (another host, event_source_replay.h).
//
// Reads return one of four outcomes, as values: an event, a clean end
// ("nothing more yet"), unavailable (a transient failure: the replay server
// does not answer, an I/O error; retry later) or corrupt (the source holds
// bad data; retrying will not help, an operator must look).
//
// Ownership: an event body points into the source's own memory (the journal
// mapping, the last replay page) and stays valid until the next call on the
// source. Thread-safety: none; a source is created and used by one thread
// (a replay source owns a ZeroMQ socket), so the runtime hands out factories.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace rill::readmodels {

enum class source_status : uint8_t { ok, end, unavailable, corrupt };
const char* to_string(source_status s);

struct source_event {
  uint64_t seq = 0;
  std::span<const char> body;  // the event's MessagePack body; valid until the next call
};

class event_source {
 public:
  virtual ~event_source() = default;

  // Positions so that next() returns the event with this seq (seq >= 1).
  // Seeking beyond the head is allowed: next() then returns end until it is
  // written. ok | unavailable | corrupt.
  [[nodiscard]] virtual source_status seek(uint64_t seq) = 0;

  // The next event, without waiting long (a replay source waits for at most
  // one round trip). ok | end | unavailable | corrupt.
  [[nodiscard]] virtual source_status next(source_event& out) = 0;

  // The seq next() would return.
  virtual uint64_t position() const = 0;

  // The last seq the source holds, as far as it knows (0 = empty). May cost
  // a round trip for a replay source; 0 with error() set when unavailable.
  virtual uint64_t last_seq() = 0;

  // Why the last call returned unavailable or corrupt.
  virtual const std::string& error() const = 0;

  // "journal" or "replay", for logs and status.
  virtual std::string_view kind() const = 0;

  // How many earlier bodies stay valid across further next() calls: 0 when
  // a body is valid only until the next call (the contract above), N when
  // the last N + 1 bodies returned are all still readable. Lets a reader
  // decode ahead (apply_ahead.h).
  virtual size_t stable_bodies() const { return 0; }
};

// Creates a source on the calling thread (the thread that will use it).
// Throws std::runtime_error only for a misconfiguration found at creation.
using event_source_factory = std::function<std::unique_ptr<event_source>()>;

}  // namespace rill::readmodels
