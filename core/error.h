#pragma once
// Error codes of the wire protocol (PROTOCOL.md). The string forms are part of
// the protocol and frozen; the numeric values are internal only.
#include <cstdint>
#include <string_view>

namespace rill {

enum class errc : uint8_t {
  ok = 0,
  bad_request,
  unknown_command,
  unknown_aggregate,
  already_exists,
  not_found,
  version_conflict,
  too_large,
  overloaded,
  unavailable,
  forbidden,
  aborted,
  unknown_model,
  unknown_query,
  timeout,
  count_  // number of codes; not a code
};

// The protocol's name for a code ("bad_request", ...). Thread-safe.
constexpr std::string_view to_string(errc e) {
  switch (e) {
    case errc::ok: return "ok";
    case errc::bad_request: return "bad_request";
    case errc::unknown_command: return "unknown_command";
    case errc::unknown_aggregate: return "unknown_aggregate";
    case errc::already_exists: return "already_exists";
    case errc::not_found: return "not_found";
    case errc::version_conflict: return "version_conflict";
    case errc::too_large: return "too_large";
    case errc::overloaded: return "overloaded";
    case errc::unavailable: return "unavailable";
    case errc::forbidden: return "forbidden";
    case errc::aborted: return "aborted";
    case errc::unknown_model: return "unknown_model";
    case errc::unknown_query: return "unknown_query";
    case errc::timeout: return "timeout";
    case errc::count_: break;
  }
  return "internal";
}

}  // namespace rill
