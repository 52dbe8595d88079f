#include "transport/notifier_server.h"

#include <cstring>

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <vector>

#include "core/msgpack_pack.h"
#include "core/request.h"
#include "transport/notifier_codec.h"
#include "transport/notifier_protocol.h"

namespace rill::transport {

namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The longest the loop sleeps before looking at `stop` again.
constexpr auto kMaxPollWait = 100ms;
// How often the notes owed to a client whose pipe was full are tried again.
constexpr auto kStalledRetry = 5ms;
// How often counters of dropped / expired clients and bad reports are logged.
constexpr auto kSummaryEvery = 10s;
// Transport cap: larger messages make libzmq drop the connection.
constexpr int64_t kTransportCap = int64_t{64} << 20;

int clamp_int(size_t v) {
  return static_cast<int>(std::min<size_t>(v, INT_MAX));
}

server_options router_options(const notifier_server_options& o) {
  server_options s;
  s.send_hwm = clamp_int(std::max<size_t>(2 * o.registry.client_queue, 2));
  s.recv_hwm = std::max(o.request_queue, 1);
  s.max_message = kTransportCap;
  s.send_timeout = 0ms;
  return s;
}

// Encodes each note once per flush and hands every client a reference-counted
// copy of the same message (zmq_msg_copy shares the buffer).
class router_sink final : public note_sink {
 public:
  explicit router_sink(zmq::socket_t& s) : socket_(s) {}

  send_result send(std::string_view address, bool delimiter, const pending_note& n) override {
    if (n.id == pending_note::kUnshared) {  // a note for this client alone
      buf_.clear();
      notify::encode_note(buf_, n.model, n.key, n.seq);
      zmq::message_t body(buf_.data(), buf_.size());
      return send_routed(socket_, address, delimiter, body);
    }
    if (n.id >= cache_.size()) cache_.resize(n.id + 1);
    std::optional<zmq::message_t>& slot = cache_[n.id];
    if (!slot) {
      buf_.clear();
      notify::encode_note(buf_, n.model, n.key, n.seq);
      slot.emplace(buf_.data(), buf_.size());
    }
    zmq::message_t body;
    body.copy(*slot);
    return send_routed(socket_, address, delimiter, body);
  }
  void reset() { cache_.clear(); }

 private:
  zmq::socket_t& socket_;
  std::vector<std::optional<zmq::message_t>> cache_;
  out_buffer buf_;
};

}  // namespace

std::string route_address(const std::vector<zmq::message_t>& route, bool& delimiter) {
  size_t n = route.size();
  delimiter = n > 1 && route[n - 1].size() == 0;
  if (delimiter) --n;
  std::string address;
  for (size_t i = 0; i < n; ++i) {
    const auto len = static_cast<uint32_t>(route[i].size());
    char prefix[4];
    std::memcpy(prefix, &len, 4);
    address.append(prefix, 4);
    address.append(static_cast<const char*>(route[i].data()), len);
  }
  return address;
}

send_result send_routed(zmq::socket_t& router, std::string_view address, bool delimiter,
                        zmq::message_t& body) {
  static const char empty = 0;
  // The address holds the identity frame and any proxy hops (route_address).
  auto frame = [&address](size_t& at) {
    uint32_t len = 0;
    std::memcpy(&len, address.data() + at, 4);
    const std::string_view f = address.substr(at + 4, len);
    at += 4 + len;
    return f;
  };
  try {
    size_t at = 0;
    if (address.size() < 4) return send_result::gone;
    const std::string_view identity = frame(at);
    // The first frame decides whether the pipe takes the message
    // (ROUTER_MANDATORY: EAGAIN when full); the rest always go through.
    if (!router.send(zmq::const_buffer(identity.data(), identity.size()),
                     zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      return send_result::full;
    while (at + 4 <= address.size()) {
      const std::string_view hop = frame(at);
      (void)router.send(zmq::const_buffer(hop.data(), hop.size()), zmq::send_flags::sndmore);
    }
    if (delimiter) (void)router.send(zmq::const_buffer(&empty, 0), zmq::send_flags::sndmore);
    (void)router.send(body, zmq::send_flags::none);
    return send_result::sent;
  } catch (const zmq::error_t& e) {
    return e.num() == EAGAIN ? send_result::full : send_result::gone;
  }
}

notifier_server::notifier_server(zmq::context_t& ctx, const notifier_server_options& opt,
                                 const server_security* sec)
    : opt_(opt),
      router_(ctx, opt.notify_endpoint, router_options(opt), sec),
      pull_(ctx, zmq::socket_type::pull),
      registry_(opt.registry),
      started_(clock::now()),
      last_summary_(started_) {
  request_limits_.max_request_bytes = opt.max_request_bytes;
  report_limits_.max_request_bytes = opt.max_report_bytes;
  report_limits_.max_elements = std::max<size_t>(opt.max_report_keys, 1 << 20) + 16;
  pull_.set(zmq::sockopt::rcvhwm, std::max(opt.report_queue, 1));
  pull_.set(zmq::sockopt::maxmsgsize, kTransportCap);
  pull_.set(zmq::sockopt::linger, 0);
  apply_server_security(pull_, opt.notify_in_endpoint, sec);
  bind_endpoint(pull_, opt.notify_in_endpoint);
}

void notifier_server::run(const std::atomic<bool>& stop, int wake_fd) {
  zmq::pollitem_t items[3] = {{router_.socket().handle(), 0, ZMQ_POLLIN, 0},
                              {pull_.handle(), 0, ZMQ_POLLIN, 0},
                              {nullptr, wake_fd, ZMQ_POLLIN, 0}};
  const int nitems = wake_fd >= 0 ? 3 : 2;
  router_sink sink(router_.socket());
  inbound in;
  zmq::message_t msg;
  while (!stop.load(std::memory_order_relaxed)) {
    auto now = clock::now();
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(kMaxPollWait);
    if (auto next = registry_.next_expiry()) {
      auto until = std::chrono::ceil<std::chrono::milliseconds>(*next - now);
      wait = std::clamp(until + 1ms, 0ms, wait);  // +1: expiry is "longer than"
    }
    if (!backlogs_.empty()) wait = std::min(wait, 1ms);  // a full pipe raises no event
    if (registry_.stalled_clients() > 0) wait = std::min(wait, kStalledRetry);
    try {
      zmq::poll(items, nitems, wait);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      continue;  // EINTR
    }
    if (nitems == 3 && (items[2].revents & ZMQ_POLLIN)) return;
    now = clock::now();
    if (!backlogs_.empty()) drain_backlogs();
    for (size_t i = 0; i < opt_.batch && router_.recv(in, false); ++i) handle_request(in, now);
    for (size_t i = 0; i < opt_.batch; ++i) {
      try {
        if (!pull_.recv(msg, zmq::recv_flags::dontwait)) break;
        if (msg.more()) {  // a report is one frame: drain and discard the rest
          zmq::message_t part;
          while (msg.more() && pull_.recv(part, zmq::recv_flags::none)) msg.swap(part);
          ++counters_.reports_bad;
          continue;
        }
      } catch (const zmq::error_t&) {
        break;
      }
      handle_report(msg);
    }
    registry_.flush(sink);
    sink.reset();
    registry_.expire(clock::now());
    log_summary(now);
  }
}

void notifier_server::handle_request(inbound& in, clock::time_point now) {
  ++counters_.requests;
  bool delimiter = false;
  const std::string address = route_address(in.route, delimiter);
  auto id = registry_.find(address);
  const bool known = id != notifier_registry::npos;
  if (known) registry_.touch(id, delimiter, now);
  out_.clear();
  std::string message;
  notify::request req;
  errc e = errc::ok;
  if (in.empty) {
    e = errc::bad_request;
    message = "no body frame";
  } else if (in.extra_frames) {
    e = errc::bad_request;
    message = "a request is one body frame";
    req.req = find_req(in.bytes(), request_limits_);  // core/request.h
  } else {
    e = notify::decode_request(in.bytes(), request_limits_, req, message);
  }
  const uint64_t expiry_ms = static_cast<uint64_t>(registry_.limits().expiry.count());
  if (e == errc::ok) {
    switch (req.kind) {
      case notify::op::watch: {
        if (!known) id = registry_.add(address, delimiter, now);
        if (id == notifier_registry::npos) {
          e = errc::overloaded;
          message = "the notifier serves its maximum number of clients";
          break;
        }
        if (registry_.watch(id, req.model, req.key) == watch_result::too_many) {
          e = errc::overloaded;
          message = "watch limit of " + std::to_string(registry_.limits().max_watches_per_client) +
                    " reached for this client";
          break;
        }
        notify::encode_ok_reply(
            out_, notify::kOpWatch, known,
            {{"watches", uint64_t{registry_.watch_count(id)}}, {notify::kFieldExpiry, expiry_ms}},
            req.req);
        break;
      }
      case notify::op::unwatch: {
        const bool removed = known && registry_.unwatch(id, req.model, req.key);
        notify::encode_ok_reply(out_, notify::kOpUnwatch, known,
                                {{"removed", removed}, {notify::kFieldExpiry, expiry_ms}}, req.req);
        break;
      }
      case notify::op::ping:
        notify::encode_ok_reply(out_, notify::kOpPing, known,
                                {{"watches", uint64_t{known ? registry_.watch_count(id) : 0}},
                                 {notify::kFieldExpiry, expiry_ms}},
                                req.req);
        break;
      case notify::op::status:
        encode_status(known, req.req);
        break;
    }
  }
  if (e != errc::ok) {
    ++counters_.requests_bad;
    out_.clear();
    notify::encode_error_reply(out_, e, message, known, expiry_ms, req.req);
  }
  send_reply(address, delimiter);
}

void notifier_server::encode_status(bool known, std::span<const char> req) {
  const registry_stats& s = registry_.stats();
  const auto uptime =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started_).count();
  sources_buf_.clear();
  {
    // {model: {"reports": n, "seq": s}}, sorted by name (a stable reply).
    std::vector<const std::pair<const std::string, report_source>*> sorted;
    sorted.reserve(sources_.size());
    for (const auto& e : sources_) sorted.push_back(&e);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
    packer pk(sources_buf_);
    pk.pack_map(static_cast<uint32_t>(sorted.size()));
    for (const auto* e : sorted) {
      pack_str(pk, e->first);
      pk.pack_map(2);
      pack_str(pk, "reports");
      pk.pack_uint64(e->second.reports);
      pack_str(pk, "seq");
      pk.pack_uint64(e->second.seq);
    }
  }
  const notify::field fields[] = {
      {"clients", uint64_t{registry_.clients()}},
      {"watches", uint64_t{registry_.watches()}},
      {"models", uint64_t{registry_.models()}},
      {"reports", s.reports},
      {"sources", notify::packed_value{{sources_buf_.data(), sources_buf_.size()}}},
      {"reports_bad", counters_.reports_bad},
      {"requests", counters_.requests},
      {"requests_bad", counters_.requests_bad},
      {"notes_sent", s.notes_sent},
      {"notes_coalesced", s.notes_coalesced},
      {"notes_folded", s.notes_folded},
      {"notes_dropped", s.notes_dropped},
      {"clients_registered", s.clients_registered},
      {"clients_dropped", s.clients_dropped},
      {"clients_stalled", uint64_t{registry_.stalled_clients()}},
      {"stalls", s.clients_stalled},
      {"clients_expired", s.clients_expired},
      {"clients_gone", s.clients_gone},
      {"replies_lost", counters_.replies_lost},
      {"replies_delayed", counters_.replies_delayed},
      {"replies_waiting", uint64_t{backlog_total_}},
      {notify::kFieldExpiry, static_cast<uint64_t>(registry_.limits().expiry.count())},
      {"client_queue", uint64_t{registry_.limits().client_queue}},
      {"pid", static_cast<uint64_t>(::getpid())},
      {"uptime_ms", static_cast<uint64_t>(uptime)},
  };
  notify::encode_ok_reply(out_, notify::kOpStatus, known, fields, req);
}

void notifier_server::send_reply(std::string_view address, bool delimiter) {
  const std::string key(address);
  auto it = backlogs_.find(key);
  if (it == backlogs_.end()) {  // nothing waiting for this client: try to send now
    zmq::message_t body(out_.data(), out_.size());
    const send_result r = send_routed(router_.socket(), address, delimiter, body);
    if (r == send_result::sent) return;
    if (r == send_result::gone) {
      ++counters_.replies_lost;
      lose_client(key, r);
      return;
    }
    it = backlogs_.emplace(key, backlog{delimiter, {}}).first;
  }
  if (it->second.replies.size() >= opt_.max_backlog_replies ||
      backlog_total_ >= opt_.max_backlog_total) {
    // A client that sends without reading: its replies cannot be kept.
    counters_.replies_lost += 1 + it->second.replies.size();
    lose_client(key, send_result::full);
    return;
  }
  it->second.replies.emplace_back(out_.data(), out_.size());
  ++backlog_total_;
  ++counters_.replies_delayed;
}

void notifier_server::lose_client(const std::string& address, send_result why) {
  if (auto it = backlogs_.find(address); it != backlogs_.end()) {
    backlog_total_ -= it->second.replies.size();
    backlogs_.erase(it);
  }
  if (auto id = registry_.find(address); id != notifier_registry::npos)
    registry_.forget(id, why == send_result::full ? forget_reason::slow : forget_reason::gone);
}

void notifier_server::drain_backlogs() {
  for (auto it = backlogs_.begin(); it != backlogs_.end();) {
    backlog& b = it->second;
    send_result r = send_result::sent;
    while (!b.replies.empty()) {
      zmq::message_t body(b.replies.front().data(), b.replies.front().size());
      r = send_routed(router_.socket(), it->first, b.delimiter, body);
      if (r != send_result::sent) break;
      b.replies.pop_front();
      --backlog_total_;
    }
    if (r == send_result::gone) {
      counters_.replies_lost += b.replies.size();
      const std::string address = it->first;
      ++it;
      lose_client(address, send_result::gone);
      continue;
    }
    if (b.replies.empty()) {
      it = backlogs_.erase(it);
    } else {
      ++it;
    }
  }
}

void notifier_server::handle_report(const zmq::message_t& msg) {
  notify::change_report rep;
  std::string message;
  const std::span<const char> bytes(static_cast<const char*>(msg.data()), msg.size());
  if (notify::decode_report(bytes, report_limits_, opt_.max_report_keys, rep, message) !=
      errc::ok) {
    if (counters_.reports_bad++ == 0 && opt_.log)
      opt_.log(log_level::warn, "bad change report (further ones are only counted): " + message);
    return;
  }
  auto src = sources_.find(rep.model);
  if (src == sources_.end() && sources_.size() < kMaxSources)
    src = sources_.emplace(std::string(rep.model), report_source{}).first;
  if (src != sources_.end()) {
    ++src->second.reports;
    src->second.seq = std::max(src->second.seq, rep.seq);
  }
  registry_.report(rep.model, rep.whole ? std::span<const std::string_view>{} : rep.keys, rep.seq,
                   rep.seqs);
}

void notifier_server::log_summary(clock::time_point now) {
  if (now - last_summary_ < kSummaryEvery) return;
  last_summary_ = now;
  const registry_stats& s = registry_.stats();
  if (s.clients_dropped != summarized_.clients_dropped ||
      s.clients_stalled != summarized_.clients_stalled ||
      s.clients_expired != summarized_.clients_expired ||
      s.clients_gone != summarized_.clients_gone || s.reports != summarized_.reports ||
      counters_.replies_lost != summarized_lost_) {
    if (opt_.log) {
      opt_.log(log_level::info,
               std::to_string(registry_.clients()) + " clients, " +
                   std::to_string(registry_.watches()) + " watches; reports " +
                   std::to_string(s.reports) + ", notes sent " + std::to_string(s.notes_sent) +
                   ", folded " + std::to_string(s.notes_folded) + ", dropped " +
                   std::to_string(s.notes_dropped) + "; clients stalled now " +
                   std::to_string(registry_.stalled_clients()) + " (stalls " +
                   std::to_string(s.clients_stalled) + "), dropped " +
                   std::to_string(s.clients_dropped) + ", expired " +
                   std::to_string(s.clients_expired) + ", gone " + std::to_string(s.clients_gone) +
                   "; bad reports " + std::to_string(counters_.reports_bad) + ", bad requests " +
                   std::to_string(counters_.requests_bad) + ", replies lost " +
                   std::to_string(counters_.replies_lost));
    }
  }
  summarized_ = s;
  summarized_lost_ = counters_.replies_lost;
}

}  // namespace rill::transport
