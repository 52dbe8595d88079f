#pragma once
// Encoders of the command endpoint's replies (PROTOCOL.md "Commands"):
//   ok:    {"ok": true, "seq": u, "ver": u, "dup": bool, "req"?: any}
//   error: {"ok": false, "error": code, "message": str, "ver"?: u, "req"?: any}
//   batch: {"ok": true, "results": [ok or error map without req...], "req"?: any}
// `req` is the request's `req` value exactly as its client encoded it (a
// view into the request bytes), echoed byte for byte: a client in any
// language gets back the very value, of the very type, it sent (re-encoding
// a decoded value turned 1.0 into 1 and a uint32 into a fixint). Empty: the
// request had none, and the reply has no `req`. Each encoder appends to out
// (it does not clear it). Thread-safety: pure functions / a single-owner writer.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/buffer.h"
#include "core/error.h"
#include "core/msgpack.h"

namespace rill {

// A request's `req` value, as encoded by its client; empty = absent.
using req_bytes = std::span<const char>;

void encode_ok(out_buffer& out, uint64_t seq, uint64_t ver, bool dup, req_bytes req);
void encode_error(out_buffer& out, errc code, std::string_view message, req_bytes req,
                  std::optional<uint64_t> ver = {});
// {"ok": true, "req"?: ...} - the reply to ping and similar admin requests.
void encode_ack(out_buffer& out, req_bytes req);

// Writes a batch reply in one pass: begin() with the number of results, then
// exactly that many add_ok/add_error calls, then finish().
// Borrows out (and req until finish). Not thread-safe.
class batch_reply_writer {
 public:
  explicit batch_reply_writer(out_buffer& out) : out_(out) {}
  void begin(size_t count, req_bytes req);
  void add_ok(uint64_t seq, uint64_t ver, bool dup);
  void add_error(errc code, std::string_view message, std::optional<uint64_t> ver = {});
  void finish();

 private:
  out_buffer& out_;
  req_bytes req_;
};

}  // namespace rill
