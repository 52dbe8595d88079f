#include "readmodels/query_server.h"

#include <limits>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/request.h"
#include "core/utf8.h"

namespace rill::readmodels {

query_server::query_server(zmq::context_t& ctx, std::string model, const std::string& endpoint,
                           query_server_options opt, const transport::server_security* sec)
    : model_(std::move(model)),
      endpoint_(endpoint),
      opt_(std::move(opt)),
      socket_(ctx, endpoint, opt_.socket, sec) {}

size_t query_server::serve(uint64_t applied, clock::time_point now, const handler& h) {
  size_t n = 0;
  transport::inbound in;
  const auto until = clock::now() + opt_.serve_budget;
  while (n < opt_.max_per_serve && socket_.recv(in, false)) {
    ++n;
    handle(in, applied, now, h, false);
    if (clock::now() >= until) break;
  }
  return n;
}

void query_server::send(const transport::inbound& in) {
  if (!socket_.reply(in, reply_.span())) {
    // Logged at most every 10 s, as rill-core does (every 1000th drop made
    // 14 lines in 5 s); status shows the total (queries.replies_dropped).
    const auto now = clock::now();
    if (now - dropped_logged_at_ >= std::chrono::seconds(10)) {
      dropped_logged_at_ = now;
      spdlog::warn("model {}: {} replies dropped so far (a client is gone or stopped reading)",
                   model_, socket_.dropped_replies());
    }
  }
  ++answered_;
}

void query_server::handle(transport::inbound& in, uint64_t applied, clock::time_point now,
                          const handler& h, bool from_park) {
  reply_.clear();
  zone_.clear();
  if (in.route.empty()) return;  // cannot happen on a ROUTER; nothing to answer to
  if (in.empty || in.extra_frames) {
    encode_query_error(reply_, errc::bad_request,
                       in.empty ? "no request body" : "a query is one body frame",
                       in.empty ? std::span<const char>() : find_req(in.bytes(), opt_.decode.lim));
    send(in);
    return;
  }
  query_request rq;
  const errc e = decode_query(in.bytes(), zone_, opt_.decode, rq, message_);
  if (e != errc::ok) {
    encode_query_error(reply_, e, message_, rq.req);
    send(in);
    return;
  }
  if (!rq.model.empty() && rq.model != model_) {
    encode_query_error(reply_, errc::unknown_model,
                       "this endpoint serves model '" + model_ + "', not '" +
                           std::string(utf8_prefix(rq.model, 128)) + "'",
                       rq.req);
    send(in);
    return;
  }
  if (rq.has_after && rq.after > applied) {
    if (from_park) return;  // still waiting; release() only calls us when due
    size_t bytes = in.body.size();
    for (const auto& f : in.route) bytes += f.size();
    if (parked_.size() >= opt_.max_parked || parked_bytes_ + bytes > opt_.max_parked_bytes) {
      encode_query_error(reply_, errc::overloaded,
                         parked_.size() >= opt_.max_parked
                             ? "too many queries waiting for `after`"
                             : "too many bytes of queries waiting for `after`",
                         rq.req);
      send(in);
      return;
    }
    if (rq.timeout_ms == 0) {
      encode_query_error(
          reply_, errc::timeout,
          "model has applied " + std::to_string(applied) + " < after " + std::to_string(rq.after),
          rq.req);
      send(in);
      return;
    }
    const uint64_t id = next_id_++;
    const auto deadline = now + std::chrono::milliseconds(rq.timeout_ms);
    by_after_.emplace(rq.after, id);
    by_deadline_.emplace(deadline, id);
    parked_.emplace(id, parked_request{std::move(in), rq.after, deadline, bytes});
    parked_bytes_ += bytes;
    in = transport::inbound{};
    return;
  }
  h(rq, reply_);
  send(in);
}

void query_server::unpark(uint64_t id) {
  auto it = parked_.find(id);
  if (it == parked_.end()) return;
  for (auto [a, b] = by_after_.equal_range(it->second.after); a != b; ++a) {
    if (a->second == id) {
      by_after_.erase(a);
      break;
    }
  }
  for (auto [a, b] = by_deadline_.equal_range(it->second.deadline); a != b; ++a) {
    if (a->second == id) {
      by_deadline_.erase(a);
      break;
    }
  }
  parked_bytes_ -= it->second.bytes;
  parked_.erase(it);
}

void query_server::release(uint64_t applied, clock::time_point now, const handler& h) {
  // Due: every request with after <= applied, in the order of their `after`.
  while (!by_after_.empty() && by_after_.begin()->first <= applied) {
    const uint64_t id = by_after_.begin()->second;
    auto it = parked_.find(id);
    transport::inbound in = std::move(it->second.in);
    unpark(id);
    handle(in, applied, now, h, true);
  }
  // Expired: answered with timeout.
  while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
    const uint64_t id = by_deadline_.begin()->second;
    auto it = parked_.find(id);
    transport::inbound in = std::move(it->second.in);
    const uint64_t after = it->second.after;
    unpark(id);
    reply_.clear();
    zone_.clear();
    query_request rq;
    (void)decode_query(in.bytes(), zone_, opt_.decode, rq, message_);  // for `req`
    encode_query_error(
        reply_, errc::timeout,
        "model has applied " + std::to_string(applied) + " < after " + std::to_string(after),
        rq.req);
    send(in);
  }
}

query_server::clock::time_point query_server::next_deadline() const {
  return by_deadline_.empty() ? clock::time_point::max() : by_deadline_.begin()->first;
}

uint64_t query_server::lowest_after() const {
  return by_after_.empty() ? std::numeric_limits<uint64_t>::max() : by_after_.begin()->first;
}

}  // namespace rill::readmodels
