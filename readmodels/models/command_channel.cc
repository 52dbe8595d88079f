#include "readmodels/models/command_channel.h"

#include "core/msgpack_cursor.h"
#include "readmodels/models/msgpack_fields.h"
#include "readmodels/read_model.h"

namespace rill::readmodels {

command_channel::command_channel(zmq::context_t& ctx, options opts)
    : opts_(std::move(opts)), link_(ctx, opts_.endpoint, "rill-core", opts_.keys) {}

uint64_t command_channel::send(std::string_view cmd, std::string_view agg, std::string_view id,
                               std::string_view key, std::span<const char> data, time_point now) {
  if (!can_send()) return 0;
  const uint64_t req = next_req_;
  buf_.clear();
  packer pk(buf_);
  pk.pack_map(6);
  pack_str(pk, "cmd");
  pack_str(pk, cmd);
  pack_str(pk, "agg");
  pack_str(pk, agg);
  pack_str(pk, "id");
  pack_str(pk, id);
  pack_str(pk, "data");
  buf_.write(data.data(), data.size());
  pack_str(pk, "key");
  pack_str(pk, key);
  pack_str(pk, "req");
  pk.pack_uint64(req);
  if (!link_.send(buf_.span())) return 0;
  ++next_req_;
  in_flight_.emplace(req, now);
  sent_order_.emplace_back(req, now);
  return req;
}

bool command_channel::decode(std::span<const char> body, reply& r) {
  msgpack_cursor cur(body);
  uint32_t n = 0;
  if (!cur.read_map_header(n)) return false;
  bool has_ok = false, ok = false, has_req = false;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view k, s;
    if (!cur.read_str(k)) return false;
    if (k == "ok") {
      if (!cur.read_bool(ok)) return false;
      has_ok = true;
    } else if (k == "req") {
      if (!cur.read_uint(r.req)) {
        if (!cur.skip()) return false;  // not one of ours
      } else {
        has_req = true;
      }
    } else if (k == "dup") {
      if (!cur.read_bool(r.dup) && !cur.skip()) return false;
    } else if (k == "error" && cur.read_str(s)) {
      r.error.assign(s.substr(0, 64));
    } else if (k == "message" && cur.read_str(s)) {
      r.message.assign(s.substr(0, 512));
    } else if (!cur.skip()) {
      return false;
    }
  }
  if (!has_ok || !has_req) return false;
  if (ok) {
    r.result = outcome::done;
  } else if (r.error == "overloaded" || r.error == "unavailable" || r.error == "timeout") {
    r.result = outcome::retry;
  } else {
    r.result = outcome::failed;
    if (r.error.empty()) r.error = "error";
  }
  return true;
}

void command_channel::poll(time_point now, std::vector<reply>& out, size_t max_replies) {
  zmq::message_t msg;
  for (size_t i = 0; i < max_replies && link_.receive(msg); ++i) {
    reply r;
    if (!decode({static_cast<const char*>(msg.data()), msg.size()}, r)) continue;
    if (in_flight_.erase(r.req) == 0) continue;  // timed out already, or not ours
    out.push_back(std::move(r));
  }
  expire(now, out);
}

void command_channel::expire(time_point now, std::vector<reply>& out) {
  bool expired = false;
  while (!sent_order_.empty()) {
    auto [req, at] = sent_order_.front();
    auto it = in_flight_.find(req);
    if (it == in_flight_.end()) {  // answered
      sent_order_.pop_front();
      continue;
    }
    if (now - at < opts_.timeout) break;
    sent_order_.pop_front();
    in_flight_.erase(it);
    reply r;
    r.req = req;
    r.result = outcome::retry;
    r.error = "timeout";
    r.message = "no reply from rill-core within " + std::to_string(opts_.timeout.count()) + " ms";
    out.push_back(std::move(r));
    expired = true;
  }
  if (expired && in_flight_.empty()) link_.reset();
}

}  // namespace rill::readmodels
