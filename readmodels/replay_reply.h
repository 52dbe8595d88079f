#pragma once
// Parsing of a replay endpoint reply as event_source_replay reads it
// (PROTOCOL.md "Replay"), factored out of the socket code so that it can be
// tested and fuzzed alone:
//
//   {"ok": true, "events": [...], "head": n, "req": id}
//   {"ok": false, "error": code, ...}
//
// The map is walked with a cursor (no object tree); each event body is
// located by skipping one value and checked with peek_event. Unknown fields
// are skipped.
//
// Ownership: the events' bodies are views into `reply`. Thread-safety: pure
// function. Never throws (but may throw std::bad_alloc).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "readmodels/event_source.h"

namespace rill::readmodels {

// Parses `reply` to the request `req_id` that asked for events from `pos`.
// Returns
//   end          a reply carrying another req (a stale reply): ignore it;
//   ok           `events` holds the page (dense seqs from pos, maybe empty)
//                and `head` is updated (the reply's head, raised to the last
//                event's seq);
//   unavailable  the server answered an error (`why` says which);
//   corrupt      anything malformed (`why` says what).
// `events` and `head` are left alone unless ok is returned.
source_status parse_replay_reply(std::span<const char> reply, uint64_t pos, uint64_t req_id,
                                 uint64_t& head, std::vector<source_event>& events,
                                 std::string& why);

}  // namespace rill::readmodels
