#pragma once
// Result codes of the journal (rill::store). The store never throws: every
// operation that can fail returns one of these. end_of_log is a value, not an
// error: it means "nothing more yet".
#include <cstdint>
#include <string_view>

namespace rill::store {

// Numeric values are internal (never written to disk or the wire).
enum class io_status : uint8_t {
  ok,
  end_of_log,        // reader: no further record is published (yet)
  too_large,         // body longer than journal_writer::max_body_size()
  io_error,          // the OS refused (disk full, EIO, mapping failed, ...)
  corrupt,           // a record or header fails its checks before the tail
  invalid_argument,  // caller error (seq not dense, bad options, ...)
};

// "ok", "end_of_log", "too_large", "io_error", "corrupt", "invalid_argument".
// Thread-safe.
std::string_view to_string(io_status s);

}  // namespace rill::store
