#include "store/sync_mode.h"

#include <charconv>

namespace rill::store {

std::optional<sync_mode> sync_mode::parse(std::string_view text) {
  if (text == "none") return sync_mode{kind::none, 0};
  if (text == "batch") return sync_mode{kind::batch, 0};
  constexpr std::string_view prefix = "interval:";
  if (!text.starts_with(prefix)) return std::nullopt;
  std::string_view num = text.substr(prefix.size());
  if (num.empty() || num.size() > 5) return std::nullopt;
  for (char c : num) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint32_t ms = 0;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), ms);
  if (ec != std::errc{} || end != num.data() + num.size()) return std::nullopt;
  if (ms < 1 || ms > max_interval_ms) return std::nullopt;
  return sync_mode{kind::interval, ms};
}

std::string sync_mode::to_string() const {
  switch (k) {
    case kind::none: return "none";
    case kind::batch: return "batch";
    case kind::interval: return "interval:" + std::to_string(interval_ms);
  }
  return "none";
}

}  // namespace rill::store
