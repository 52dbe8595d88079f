#pragma once
// Reading a read model's status reply ({"q": "status"}; PROTOCOL.md says
// at least seq, head and events_applied): rill-proj sends it as a query
// reply, the fields inside "result"; rebuild progress is
// "rebuild_progress": {"seq": <rebuilt up to>, "head": <target>, ...}.
//
// Thread-safety: pure functions.
#include <nlohmann/json.hpp>

namespace rill::cli {

// The map holding the status fields: reply["result"] when it is a map, else
// the reply itself.
const nlohmann::json& status_body(const nlohmann::json& reply);
// Rebuild progress in [0, 1] from a status body (0 when absent). Accepts the
// {seq, head} map, or a plain number (a fraction, or a percentage above 1).
double rebuild_fraction(const nlohmann::json& status);

}  // namespace rill::cli
