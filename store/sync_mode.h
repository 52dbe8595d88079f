#pragma once
// When the journal writer makes published records durable.
//
//   none         nothing is flushed while running (only at close): a record
//                survives a killed process as soon as it is copied into the
//                mapping, but not a power cut.
//   batch        group commit: the caller calls journal_writer::flush() once
//                per drained batch, before acknowledging it.
//   interval:MS  a background thread flushes every MS milliseconds (1..60000).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rill::store {

struct sync_mode {
  enum class kind { none, batch, interval } k = kind::none;
  uint32_t interval_ms = 0;  // only for kind::interval; 1..60000

  static constexpr uint32_t max_interval_ms = 60000;

  // Parses "none", "batch" or "interval:MS" (MS decimal, 1..60000, no sign,
  // no spaces). Anything else -> nullopt. Thread-safe.
  static std::optional<sync_mode> parse(std::string_view text);
  // The form parse() accepts ("interval:5"). Thread-safe.
  std::string to_string() const;

  friend bool operator==(const sync_mode&, const sync_mode&) = default;
};

}  // namespace rill::store
