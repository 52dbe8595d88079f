#include "readmodels/replay_reply.h"

#include <algorithm>
#include <string_view>

#include "core/event.h"
#include "core/msgpack_cursor.h"

namespace rill::readmodels {

source_status parse_replay_reply(std::span<const char> reply, uint64_t pos, uint64_t req_id,
                                 uint64_t& head_io, std::vector<source_event>& page,
                                 std::string& why) {
  msgpack_cursor c(reply);
  uint32_t n = 0;
  if (!c.read_map_header(n)) {
    why = "reply is not a map";
    return source_status::corrupt;
  }
  bool ok = false, have_ok = false, have_head = false;
  uint64_t req = 0, head = 0;
  bool have_req = false;
  std::string_view err;
  std::vector<source_event> events;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view key;
    if (!c.read_str(key)) {
      if (!c.skip() || !c.skip()) break;
      continue;
    }
    if (key == "ok") {
      have_ok = c.read_bool(ok);
      if (!have_ok && !c.skip()) break;
    } else if (key == "head") {
      have_head = c.read_uint(head);
      if (!have_head && !c.skip()) break;
    } else if (key == "req") {
      have_req = c.read_uint(req);
      if (!have_req && !c.skip()) break;
    } else if (key == "error") {
      if (!c.read_str(err) && !c.skip()) break;
    } else if (key == "events") {
      uint32_t count = 0;
      if (!c.read_array_header(count)) {
        why = "events is not an array";
        return source_status::corrupt;
      }
      // Every event takes at least one byte: a count beyond the bytes left
      // is a corrupt reply (found below), not a reason to reserve gigabytes.
      events.reserve(std::min<size_t>(count, c.remaining()));
      for (uint32_t k = 0; k < count; ++k) {
        const size_t from = c.offset();
        if (!c.skip()) {
          why = "truncated event";
          return source_status::corrupt;
        }
        const auto body = c.bytes_since(from);
        event_head h;
        if (!peek_event(body, h)) {
          why = "malformed event in reply";
          return source_status::corrupt;
        }
        events.push_back({h.seq, body});
      }
    } else if (!c.skip()) {
      break;
    }
  }
  if (have_req && req != req_id) return source_status::end;  // a stale reply
  if (!have_ok) {
    why = "malformed reply";
    return source_status::corrupt;
  }
  if (!ok) {
    why = "server says " + std::string(err);
    return source_status::unavailable;
  }
  // The events must start at pos and be dense.
  for (size_t k = 0; k < events.size(); ++k) {
    if (events[k].seq != pos + k) {
      why = "expected seq " + std::to_string(pos + k) + ", got " + std::to_string(events[k].seq);
      return source_status::corrupt;
    }
  }
  if (have_head) head_io = head;
  if (!events.empty() && events.back().seq > head_io) head_io = events.back().seq;
  page = std::move(events);
  return source_status::ok;
}

}  // namespace rill::readmodels
