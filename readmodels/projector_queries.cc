// The projector's query handling: the built-in queries every model answers
// (status, ping, rebuild) and the model's own, answered on the projector
// thread against the live state.
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "core/msgpack_cursor.h"
#include "readmodels/projector.h"

namespace rill::readmodels {

namespace {

using packer = msgpack::packer<out_buffer>;

void key(packer& pk, std::string_view k) {
  pk.pack_str(static_cast<uint32_t>(k.size()));
  pk.pack_str_body(k.data(), static_cast<uint32_t>(k.size()));
}

void str(packer& pk, std::string_view v) {
  key(pk, v);
}

}  // namespace

event_source* projector::aux_source() {
  if (!aux_) {
    try {
      aux_ = env_.source();
    } catch (const std::exception& e) {
      spdlog::warn("cannot open a second event source: {}", e.what());
      return nullptr;
    }
  }
  return aux_.get();
}

uint64_t projector::known_head() {
  uint64_t h = std::max({applied_, feed_head_, source_head_});
  for (const auto& s : slots_) h = std::max(h, s->applied);
  if (env_.local_source) {
    if (event_source* aux = aux_source()) h = std::max(h, aux->last_seq());
  }
  source_head_ = h;
  return h;
}

uint64_t projector::lag_ms(const projector_slot& s, uint64_t head) {
  if (head <= s.applied) return 0;
  uint64_t ts = 0;
  if (env_.local_source) {
    // The age of the oldest event not applied yet.
    event_source* aux = aux_source();
    source_event ev;
    if (aux != nullptr && aux->seek(s.applied + 1) == source_status::ok &&
        aux->next(ev) == source_status::ok && decoder_.decode(ev.body, view_, why_) == errc::ok)
      ts = view_.ts;
  } else {
    ts = s.last_ts;  // an upper bound: the newest applied event is older still
  }
  if (ts == 0) return 0;
  const auto now_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(env_.wall_clock().time_since_epoch())
          .count());
  return now_ns > ts ? (now_ns - ts) / 1'000'000 : 0;
}

void projector::write_status(projector_slot& s, packer& pk) {
  const uint64_t head = known_head();
  const bool rebuilding = s.job != nullptr || s.pending != nullptr;
  const auto now = clock::now();
  uint32_t n = 19 + (rebuilding ? 1 : 0) + (s.live_saga != nullptr ? 1 : 0) +
               (source_error_.empty() ? 0 : 1) + (s.snapshot_error.empty() ? 0 : 2) +
               (s.rebuild_error.empty() ? 0 : 1);
  pk.pack_map(n);
  key(pk, "model");
  str(pk, s.name);
  key(pk, "seq");
  pk.pack_uint64(s.applied);
  key(pk, "head");
  pk.pack_uint64(head);
  key(pk, "events_applied");
  pk.pack_uint64(s.events_applied);
  key(pk, "lag");
  pk.pack_uint64(head > s.applied ? head - s.applied : 0);
  key(pk, "lag_ms");
  pk.pack_uint64(lag_ms(s, head));
  key(pk, "apply_rate");
  pk.pack_double(rate_);
  key(pk, "rebuilding");
  if (rebuilding)
    pk.pack_true();
  else
    pk.pack_false();
  if (rebuilding) {
    key(pk, "rebuild_progress");
    const uint64_t seq = s.job ? s.job->progress() : s.pending_applied;
    const uint64_t rhead = std::max(s.job ? s.job->head() : 0, head);
    const double secs = std::chrono::duration<double>(now - s.rebuild_started).count();
    const uint64_t events = s.job ? s.job->events() : s.pending_applied;
    pk.pack_map(5);
    key(pk, "seq");
    pk.pack_uint64(seq);
    key(pk, "head");
    pk.pack_uint64(rhead);
    key(pk, "fraction");
    pk.pack_double(rhead > 0 ? std::min(1.0, static_cast<double>(seq) / static_cast<double>(rhead))
                             : 1.0);
    key(pk, "events_per_s");
    pk.pack_double(secs > 0 ? static_cast<double>(events) / secs : 0.0);
    key(pk, "handing_over");
    if (s.pending)
      pk.pack_true();
    else
      pk.pack_false();
  }
  key(pk, "rebuilds");
  pk.pack_uint64(s.rebuilds);
  key(pk, "snapshot_seq");
  pk.pack_uint64(s.snapshot_seq);
  key(pk, "caught_up");
  if (started_)
    pk.pack_true();
  else
    pk.pack_false();
  key(pk, "source");
  str(pk, env_.local_source ? "journal" : "replay");
  key(pk, "events_skipped");
  pk.pack_uint64(events_skipped_);
  key(pk, "feed");
  pk.pack_map(4);
  key(pk, "subscribed");
  if (env_.feed && env_.feed->subscribed())
    pk.pack_true();
  else
    pk.pack_false();
  key(pk, "received");
  pk.pack_uint64(env_.feed ? env_.feed->received() : 0);
  key(pk, "dropped");
  pk.pack_uint64(env_.feed ? env_.feed->dropped() : 0);
  key(pk, "malformed");
  pk.pack_uint64(env_.feed ? env_.feed->malformed() : 0);
  key(pk, "queries");
  pk.pack_map(3);
  key(pk, "answered");
  pk.pack_uint64(s.queries->answered());
  key(pk, "waiting");
  pk.pack_uint64(s.queries->parked());
  key(pk, "replies_dropped");
  pk.pack_uint64(s.queries->dropped_replies());
  key(pk, "reports");
  pk.pack_map(2);
  key(pk, "sent");
  pk.pack_uint64(reporter_->sent());
  key(pk, "dropped");
  pk.pack_uint64(reporter_->dropped());
  key(pk, "saga");
  if (s.live_saga != nullptr) {
    pk.pack_true();
    key(pk, "saga_pending");
    pk.pack_uint64(s.live_saga->pending());
  } else {
    pk.pack_false();
  }
  key(pk, "pid");
  pk.pack_uint64(static_cast<uint64_t>(::getpid()));
  key(pk, "uptime_ms");
  pk.pack_uint64(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now - started_at_).count()));
  if (!source_error_.empty()) {
    key(pk, "source_error");
    str(pk, source_error_);
  }
  if (!s.snapshot_error.empty()) {
    key(pk, "snapshot_error");
    str(pk, s.snapshot_error);
    key(pk, "snapshot_failures");
    pk.pack_uint32(s.snapshot_failures);
  }
  if (!s.rebuild_error.empty()) {
    key(pk, "rebuild_error");
    str(pk, s.rebuild_error);
  }
}

void projector::answer(projector_slot& s, const query_request& rq, out_buffer& out) {
  packer pk(out);
  // The built-in queries take no arguments: like a model's own queries,
  // an unknown argument is bad_request (a typo must not start a rebuild).
  if ((rq.q == "status" || rq.q == "ping" || rq.q == "rebuild") && rq.args != nullptr &&
      rq.args->type == msgpack::type::MAP && rq.args->via.map.size > 0) {
    const auto& k = rq.args->via.map.ptr[0].key;
    const std::string name = k.type == msgpack::type::STR
                                 ? std::string(k.via.str.ptr, k.via.str.size)
                                 : std::string("?");
    encode_query_error(out, errc::bad_request,
                       "'" + std::string(rq.q) + "' takes no arguments (got '" + name + "')",
                       rq.req);
    return;
  }
  if (rq.q == "status") {
    const status_fields top{known_head(), s.events_applied};
    begin_query_reply(out, s.applied, rq.req, &top);
    write_status(s, pk);
    return;
  }
  if (rq.q == "ping") {
    begin_query_reply(out, s.applied, rq.req);
    str(pk, "pong");
    return;
  }
  if (rq.q == "rebuild") {
    std::string why;
    const bool started = start_rebuild(s, why);
    begin_query_reply(out, s.applied, rq.req);
    pk.pack_map(started ? 1 : 2);
    key(pk, "started");
    if (started)
      pk.pack_true();
    else
      pk.pack_false();
    if (!started) {
      key(pk, "reason");
      str(pk, why);
    }
    return;
  }
  begin_query_reply(out, s.applied, rq.req);
  const size_t result_at = out.size();
  std::string message;
  errc e = errc::ok;
  try {
    e = s.live->query(rq.q, *rq.args, pk, message);
  } catch (const std::exception& ex) {
    e = errc::bad_request;
    message = std::string("query failed: ") + ex.what();
  }
  if (e == errc::ok) {
    // The model must have packed exactly one value.
    msgpack_cursor c(out.span().subspan(result_at));
    if (!c.skip() || !c.at_end()) {
      spdlog::error("model {}: query '{}' produced a malformed result", s.name, rq.q);
      e = errc::unavailable;
      message = "the model produced a malformed result";
    }
  }
  if (e != errc::ok) {
    out.clear();
    if (message.empty()) message = std::string(to_string(e));
    encode_query_error(out, e, message, rq.req);
  }
}

}  // namespace rill::readmodels
