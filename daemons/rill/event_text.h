#pragma once
// Rendering events (PROTOCOL.md "Events") for `rill tail` and
// `rill journal dump`: one line per event for people, one JSON object per
// line with --json.
//
// Thread-safety: pure functions.
#include <span>
#include <string>

#include <nlohmann/json.hpp>

namespace rill::cli {

// The event body (MessagePack) as JSON; discarded if it is not a map.
nlohmann::json event_json(std::span<const char> body);

// "#42  2026-11-26T13:46:01.123Z  customer/CUSTOMER_CREATED  c1 v1
//  {"name":"Ada",...}  key=k1 corr=x"
std::string event_line(const nlohmann::json& ev);

}  // namespace rill::cli
