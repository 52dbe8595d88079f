#include "daemons/rill/load_reply.h"

#include "core/msgpack_cursor.h"

namespace rill::cli {

namespace {

// Reads one result map {ok, error, ...}; ok/error out.
bool read_result(msgpack_cursor& c, bool& ok, std::string_view& error, uint64_t& seq) {
  uint32_t n = 0;
  if (!c.read_map_header(n)) return false;
  ok = false;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view key;
    if (!c.read_str(key)) return false;
    if (key == "ok") {
      if (!c.read_bool(ok)) return false;
    } else if (key == "error") {
      if (!c.read_str(error)) return false;
    } else if (key == "seq") {
      if (!c.read_uint(seq)) return false;
    } else if (!c.skip()) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool read_reply(std::span<const char> body, uint32_t batch, reply_summary& out) {
  out = reply_summary{};
  msgpack_cursor c(body);
  uint32_t n = 0;
  if (!c.read_map_header(n)) return false;
  bool ok = false, has_results = false;
  std::string_view error;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view key;
    if (!c.read_str(key)) return false;
    if (key == "ok") {
      if (!c.read_bool(ok)) return false;
    } else if (key == "req") {
      if (c.read_uint(out.req)) out.has_req = true;
      else if (!c.skip()) return false;
    } else if (key == "error") {
      if (!c.read_str(error)) return false;
    } else if (key == "seq") {
      if (!c.read_uint(out.seq)) return false;
    } else if (key == "results") {
      uint32_t m = 0;
      if (!c.read_array_header(m)) return false;
      has_results = true;
      for (uint32_t j = 0; j < m; ++j) {
        bool rok = false;
        std::string_view rerr;
        uint64_t rseq = 0;
        if (!read_result(c, rok, rerr, rseq)) return false;
        if (rok) {
          ++out.ok;
          if (rseq > out.seq) out.seq = rseq;
        } else {
          ++out.failed;
          if (out.first_error.empty()) out.first_error = rerr.empty() ? "unknown" : rerr;
        }
      }
    } else if (!c.skip()) {
      return false;
    }
  }
  out.has_results = has_results;
  if (has_results) return true;
  if (ok && batch <= 1) {
    out.ok = 1;
  } else if (!ok) {
    out.failed = batch == 0 ? 1 : batch;
    out.first_error = error.empty() ? "unknown" : error;
  } else {
    return false;  // a batch reply without results
  }
  return true;
}

}  // namespace rill::cli
