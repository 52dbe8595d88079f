#include "core/command_processor.h"

#include <chrono>

#include "core/event.h"
#include "core/reply.h"
#include "core/request.h"

namespace rill {
namespace {

uint64_t wall_clock_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

constexpr std::string_view kFlushFailed =
    "the journal could not be flushed to stable storage; the event may or may not be durable: "
    "retry with the same idempotency key";

}  // namespace

command_processor::command_processor(const schema& s, validator& v, journal_sink& sink,
                                     processor_options opt)
    : validator_(v), sink_(sink), opt_(std::move(opt)) {
  (void)s;  // the validator holds the schema; kept in the signature for the contract
  if (!opt_.clock) opt_.clock = wall_clock_ns;
  out_.reserve(64 << 10);
  event_.reserve(4 << 10);
}

void command_processor::begin_batch() {
  out_.clear();
  req_buf_.clear();
  replies_.clear();
}

void command_processor::release_buffers() {
  constexpr size_t keep = 4u << 20;
  out_.clear_and_release(keep);
  req_buf_.clear_and_release(keep);
  event_.clear_and_release(keep);
  replies_.clear();
  if (replies_.capacity() > 65536) replies_.shrink_to_fit();
}

std::span<const char> command_processor::reply(size_t i) const {
  const auto& r = replies_[i];
  return {out_.data() + r.off, r.len};
}

void command_processor::finish_reply(req_bytes req, bool acked) {
  reply_ref ref{reply_start_, out_.size() - reply_start_, req_buf_.size(), 0, acked};
  if (!req.empty() && opt_.durable) req_buf_.write(req.data(), req.size());
  ref.req_len = req_buf_.size() - ref.req_off;
  replies_.push_back(ref);
}

size_t command_processor::reject(errc code, std::string_view message, std::span<const char> req) {
  ++counters_.requests;
  count_error(code);
  reply_start_ = out_.size();
  encode_error(out_, code, message, req);
  finish_reply(req, false);
  return replies_.size() - 1;
}

void command_processor::decode(staged& s, std::span<const char> body) {
  s.zone.clear();
  s.message.clear();
  s.code = decode_request(body, s.zone, opt_.lim, s.r, s.message);
}

size_t command_processor::handle(staged& s) {
  ++counters_.requests;
  ts_ = 0;
  reply_start_ = out_.size();
  if (s.code != errc::ok) {
    count_error(s.code);
    encode_error(out_, s.code, s.message, s.r.req);
    finish_reply(s.r.req, false);
    return replies_.size() - 1;
  }
  switch (s.r.k) {
    case request::kind::command:
      handle_command(s.r);
      break;
    case request::kind::batch:
      handle_batch(s.r);
      break;
    case request::kind::admin:
      handle_admin(s.r);
      break;
  }
  return replies_.size() - 1;
}

size_t command_processor::handle(std::span<const char> body) {
  decode(now_, body);
  return handle(now_);
}

void command_processor::stage(size_t i, std::span<const char> body) {
  staged& s = ring_[i & (kRing - 1)];
  decode(s, body);
  if (s.code == errc::ok && s.r.k == request::kind::command) validator_.prefetch(s.r.command);
}

size_t command_processor::handle_staged(size_t i) {
  return handle(ring_[i & (kRing - 1)]);
}

errc command_processor::append_event(const command_request& c, const verdict& v) {
  event_.clear();
  event_view ev;
  ev.seq = v.seq;
  if (ts_ == 0) ts_ = opt_.clock();  // once per request message: a batch's events share it
  ev.ts = ts_;
  ev.type = v.def->event;
  ev.agg = c.agg;
  ev.id = c.id;
  ev.ver = v.ver;
  ev.data = c.data;
  ev.data_raw = c.data_raw;
  if (c.has_key) ev.key = c.key;
  if (c.has_corr) ev.corr = c.corr;
  encode_event(event_, ev);
  return sink_.append(v.seq, event_.span());
}

verdict command_processor::run_command(const command_request& c, bool append_now) {
  ++counters_.commands;
  const size_t sp = validator_.savepoint();
  verdict v = validator_.check(c, sink_.head() + 1);
  if (v.code != errc::ok || v.dup || !append_now) return v;
  errc e = append_event(c, v);
  if (e != errc::ok) {
    validator_.rollback_to(sp);
    v.code = e;
    v.message = e == errc::too_large ? "the event is larger than a journal segment can hold"
                                     : "the journal cannot accept writes (disk full or I/O error)";
    return v;
  }
  validator_.commit();
  ++counters_.events;
  return v;
}

void command_processor::handle_command(const request& r) {
  verdict v = run_command(r.command, true);
  if (v.code != errc::ok) {
    count_error(v.code);
    std::optional<uint64_t> ver;
    if (v.code == errc::version_conflict) ver = v.ver;
    encode_error(out_, v.code, v.message, r.req, ver);
    finish_reply(r.req, false);
    return;
  }
  if (v.dup) ++counters_.dups;
  else sink_.publish();
  encode_ok(out_, v.seq, v.ver, v.dup, r.req);
  finish_reply(r.req, true);
}

void command_processor::handle_batch(const request& r) {
  ++counters_.batches;
  const auto& arr = r.batch->via.array;
  const size_t n = arr.size;
  batch_cmds_.assign(n, command_request{});
  batch_verdicts_.assign(n, verdict{});
  bool any_event = false, any_ack = false;

  // Decode every element first: a malformed element is that command's error.
  for (size_t i = 0; i < n; ++i) {
    auto& v = batch_verdicts_[i];
    v.code = decode_command(arr.ptr[i], opt_.lim, batch_cmds_[i], v.message, r.bytes);
  }

  // Large indexes miss the cache on every lookup; asking for command i +
  // kPrefetch's slots while checking command i overlaps those misses (the
  // same distance as between requests, stage()).
  constexpr size_t kPrefetch = kLookahead;
  auto prefetch = [&](size_t i) {
    if (i < n && batch_verdicts_[i].code == errc::ok) validator_.prefetch(batch_cmds_[i]);
  };
  for (size_t i = 0; i < kPrefetch; ++i) prefetch(i);

  if (!r.atomic) {
    for (size_t i = 0; i < n; ++i) {
      prefetch(i + kPrefetch);
      auto& v = batch_verdicts_[i];
      if (v.code != errc::ok) {
        ++counters_.commands;
        continue;
      }
      v = run_command(batch_cmds_[i], true);
      if (v.code == errc::ok) {
        any_ack = true;
        if (v.dup) ++counters_.dups;
        else any_event = true;
      }
    }
    if (any_event) sink_.publish();
  } else {
    const size_t sp = validator_.savepoint();
    uint64_t seq = sink_.head() + 1;
    bool failed = false;
    for (size_t i = 0; i < n; ++i) {
      prefetch(i + kPrefetch);
      auto& v = batch_verdicts_[i];
      ++counters_.commands;
      if (v.code != errc::ok) {
        failed = true;
        continue;
      }
      v = validator_.check(batch_cmds_[i], seq);
      if (v.code != errc::ok) failed = true;
      else if (!v.dup) ++seq;
    }
    size_t append_failed_at = n;
    errc append_error = errc::ok;
    if (!failed) {
      for (size_t i = 0; i < n; ++i) {
        const auto& v = batch_verdicts_[i];
        if (v.dup) continue;
        append_error = append_event(batch_cmds_[i], v);
        if (append_error != errc::ok) {
          append_failed_at = i;
          break;
        }
      }
      if (append_error != errc::ok) {
        sink_.discard_unpublished();
        failed = true;
        auto& v = batch_verdicts_[append_failed_at];
        v.code = append_error;
        v.message = append_error == errc::too_large
                        ? "the event is larger than a journal segment can hold"
                        : "the journal cannot accept writes (disk full or I/O error)";
      }
    }
    if (failed) {
      validator_.rollback_to(sp);
      for (auto& v : batch_verdicts_) {
        if (v.code == errc::ok) {
          v.code = errc::aborted;
          v.message = "another command of the atomic batch failed; nothing was appended";
        }
      }
    } else {
      for (const auto& v : batch_verdicts_) {
        if (v.dup) ++counters_.dups;
        else {
          ++counters_.events;
          any_event = true;
        }
      }
      any_ack = true;
      if (any_event) sink_.publish();
      validator_.commit();
    }
  }

  batch_reply_writer w(out_);
  w.begin(n, r.req);
  for (const auto& v : batch_verdicts_) {
    if (v.code == errc::ok) {
      w.add_ok(v.seq, v.ver, v.dup);
    } else {
      count_error(v.code);
      std::optional<uint64_t> ver;
      if (v.code == errc::version_conflict) ver = v.ver;
      w.add_error(v.code, v.message, ver);
    }
  }
  w.finish();
  finish_reply(r.req, any_ack);
}

nlohmann::json command_processor::status() const {
  nlohmann::json errors = nlohmann::json::object();
  for (size_t i = 1; i < static_cast<size_t>(errc::count_); ++i)
    if (counters_.errors[i] != 0) errors[std::string(to_string(static_cast<errc>(i)))] = counters_.errors[i];
  nlohmann::json j = {{"head", sink_.head()},
                      {"requests", counters_.requests},
                      {"commands", counters_.commands},
                      {"batches", counters_.batches},
                      {"events", counters_.events},
                      {"dups", counters_.dups},
                      {"errors", errors},
                      {"aggregates", validator_.aggregate_count()},
                      {"keys", validator_.key_count()}};
  if (opt_.extra_status) j.update(opt_.extra_status());
  return j;
}

void command_processor::handle_admin(const request& r) {
  ++counters_.admin;
  if (r.op == "ping") {
    encode_ack(out_, r.req);
  } else if (r.op == "status") {
    nlohmann::json j = status();
    msgpack::packer<out_buffer> pk(out_);
    pk.pack_map(static_cast<uint32_t>(j.size() + 1 + (r.req.empty() ? 0 : 1)));
    pk.pack("ok");
    pk.pack(true);
    for (const auto& [k, v] : j.items()) {
      pk.pack(k);
      auto bytes = nlohmann::json::to_msgpack(v);
      out_.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    if (!r.req.empty()) {
      pk.pack("req");
      out_.write(r.req.data(), r.req.size());
    }
  } else {
    count_error(errc::bad_request);
    encode_error(out_, errc::bad_request,
                 "unknown op '" + std::string(r.op) + "' (the command endpoint knows ping, status)",
                 r.req);
  }
  finish_reply(r.req, false);
}

errc command_processor::end_batch() {
  if (!opt_.durable) return errc::ok;
  bool any = false;
  for (const auto& r : replies_) any |= r.acked_events;
  if (!any) return errc::ok;
  errc e = sink_.flush();
  if (e == errc::ok) return e;
  // Nothing acknowledged in this batch may claim durability: rewrite those replies.
  for (auto& r : replies_) {
    if (!r.acked_events) continue;
    count_error(errc::unavailable);
    const size_t start = out_.size();
    encode_error(out_, errc::unavailable, kFlushFailed, {req_buf_.data() + r.req_off, r.req_len});
    r.off = start;
    r.len = out_.size() - start;
    r.acked_events = false;
  }
  return e;
}

}  // namespace rill
