#pragma once
// load_reply: reads what `rill load` needs from a command or batch reply
// (PROTOCOL.md "Commands") with msgpack_cursor, without building a tree:
// the echoed `req`, how many commands succeeded and failed, and the error
// codes. Never trusts the bytes: a malformed reply is reported, not read past.
//
// Thread-safety: functions only.
#include <cstdint>
#include <span>
#include <string_view>

namespace rill::cli {

struct reply_summary {
  uint64_t req = 0;
  bool has_req = false;
  uint32_t ok = 0;      // commands that succeeded
  uint32_t failed = 0;  // commands that failed (or 1 for a failed batch as a whole)
  uint64_t seq = 0;     // the highest seq acknowledged in this reply, 0 if none
  bool has_results = false;  // a batch reply with one result per command
  // The first failure's error code (a view into the reply), empty if none.
  std::string_view first_error;
};

// On a failed batch as a whole (`ok` false, no results), failed is set to
// `batch` commands. False if the reply is not a well-formed reply map.
// (Whether a batch's results number its commands is for the caller, who
// knows the request: has_results.)
bool read_reply(std::span<const char> body, uint32_t batch, reply_summary& out);

}  // namespace rill::cli
