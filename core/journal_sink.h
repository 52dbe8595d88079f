#pragma once
// journal_sink: what the command processor needs from the journal, as an
// interface, so core/ stays free of store/ (the daemon adapts
// store::journal_writer to it; tests use an in-memory sink).
//
// Contract (same as store::journal_writer): append() writes a record that
// readers cannot see yet; publish() makes every appended record visible at
// once; discard_unpublished() forgets them; flush() makes published records
// durable. After a failed flush the sink refuses further appends.
// Thread-safety: none; the command thread owns the sink.
#include <cstdint>
#include <span>

#include "core/error.h"

namespace rill {

class journal_sink {
 public:
  virtual ~journal_sink() = default;
  virtual uint64_t head() const = 0;  // last appended seq
  // ok, too_large (body can never fit) or unavailable (I/O error, disk full).
  [[nodiscard]] virtual errc append(uint64_t seq, std::span<const char> body) = 0;
  virtual void publish() = 0;
  virtual void discard_unpublished() = 0;
  [[nodiscard]] virtual errc flush() = 0;  // ok or unavailable
};

}  // namespace rill
