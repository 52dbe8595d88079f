#pragma once
// command_processor: turns request bytes of the command endpoint into events
// in the journal and reply bytes (PROTOCOL.md "Commands"). No sockets: the
// daemon feeds it the bodies it receives and sends the replies it produces.
//
// Per request message:
//   command  decode -> validate (stages in the validator) -> encode the event
//            -> append -> publish; reply ok / dup / error.
//   batch    commands in order, each seeing the effects of those before it.
//            Non-atomic: each command stands alone. Atomic: all are checked
//            first; if any fails nothing is appended (the others answer
//            `aborted`), else all are appended and published as one group.
//   admin    ping, status.
// Records of one message are published together, so a reader never sees part
// of a batch. Replies are only final once end_batch() has run: in `batch`
// sync mode it flushes the drained batch (group commit) and, if the flush
// fails, turns every reply that acknowledged an event into `unavailable`
// (the client retries with its idempotency key; a dup answer then tells it
// the event did survive).
//
// Ownership: borrows the schema, validator and sink, which must outlive it.
// Thread-safety: not thread-safe; the command thread owns it.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/buffer.h"
#include "core/journal_sink.h"
#include "core/limits.h"
#include "core/msgpack.h"
#include "core/request.h"
#include "core/schema.h"
#include "core/validator.h"

namespace rill {

struct processor_options {
  limits lim;
  bool durable = false;  // flush in end_batch() before the replies count (sync mode batch)
  // Wall clock in ns since the epoch, for the events' ts; read once per
  // request message (a batch's events share it). Replaceable in tests.
  std::function<uint64_t()> clock;
  // Extra fields for the status reply (sync mode, segments, uptime, ...).
  std::function<nlohmann::json()> extra_status;
};

struct processor_counters {
  uint64_t requests = 0, commands = 0, batches = 0, events = 0, dups = 0, admin = 0;
  uint64_t errors[static_cast<size_t>(errc::count_)] = {};
};

class command_processor {
 public:
  command_processor(const schema& s, validator& v, journal_sink& sink, processor_options opt);

  // Handles one request body and queues its reply; returns the reply's index
  // for reply(). The reply bytes stay valid until begin_batch().
  size_t handle(std::span<const char> body);
  // Queues an error reply for a request that could not be read as one
  // (empty, or extra frames): `req` found in its first body frame, if any.
  size_t reject(errc code, std::string_view message, std::span<const char> req = {});
  // Decoding ahead, for a drained batch of requests: stage(i, body) decodes
  // request i now and prefetches the index and key slots a single command
  // will look up; handle_staged(i) later handles it, with the same result
  // and reply as handle(body). The cache misses of consecutive requests
  // overlap, and each request is read once (decoding does not depend on the
  // index, so decoding ahead is safe). Up to kLookahead requests may be
  // staged past the one being handled: call handle_staged(i) before
  // stage(i + kLookahead + 1). `body` must stay valid until handled.
  static constexpr size_t kLookahead = 4;
  void stage(size_t i, std::span<const char> body);
  size_t handle_staged(size_t i);
  // Call once after each drained batch of handle() calls: flushes in durable
  // mode and fixes the replies if the flush failed. Returns the flush result.
  errc end_batch();
  // The reply bytes of request i of the current batch.
  std::span<const char> reply(size_t i) const;
  size_t pending() const { return replies_.size(); }
  // Between batches, when idle: frees the batch buffers that grew past a
  // few MiB for large replies (they keep their size for reuse otherwise).
  void release_buffers();
  // Forgets the replies of the previous batch. Call before the next drain.
  void begin_batch();

  const processor_counters& counters() const { return counters_; }
  uint64_t head() const { return sink_.head(); }
  // Status reply body (also used by the daemon's logs).
  nlohmann::json status() const;

 private:
  struct reply_ref {
    size_t off, len;
    size_t req_off, req_len;  // the `req` to echo, in req_buf_
    bool acked_events;        // acknowledges appended events: at risk if the flush fails
  };
  // A request decoded ahead of its handling (stage()), or now (handle()).
  struct staged {
    msgpack::zone zone;
    request r;
    errc code = errc::ok;
    std::string message;
  };
  static constexpr size_t kRing = 8;  // a power of two > kLookahead
  static_assert(kRing > kLookahead && (kRing & (kRing - 1)) == 0);
  void decode(staged& s, std::span<const char> body);
  size_t handle(staged& s);
  void handle_command(const request& r);
  void handle_batch(const request& r);
  void handle_admin(const request& r);
  // Validates one command and, if fine, appends its event. Returns the verdict.
  verdict run_command(const command_request& c, bool append_now);
  errc append_event(const command_request& c, const verdict& v);
  void finish_reply(std::span<const char> req, bool acked);
  void count_error(errc e) { ++counters_.errors[static_cast<size_t>(e)]; }

  validator& validator_;
  journal_sink& sink_;
  processor_options opt_;
  processor_counters counters_;
  staged now_;                      // handle()'s request
  std::array<staged, kRing> ring_;  // stage()'s requests, by index mod kRing
  out_buffer out_;       // all replies of the batch, back to back
  out_buffer event_;     // scratch for one event body
  out_buffer req_buf_;   // the batch's req values, as their clients encoded them
  size_t reply_start_ = 0;
  uint64_t ts_ = 0;  // the events' ts for the request being handled (0: not read yet)
  std::vector<reply_ref> replies_;
  std::vector<command_request> batch_cmds_;
  std::vector<verdict> batch_verdicts_;
};

}  // namespace rill
