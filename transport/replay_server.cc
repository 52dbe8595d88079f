#include "transport/replay_server.h"

#include <spdlog/spdlog.h>

#include <absl/container/flat_hash_map.h>

#include "core/buffer.h"
#include "core/event.h"
#include "core/msgpack.h"
#include "core/reply.h"
#include "core/request.h"
#include "store/journal_reader.h"
#include "transport/replay_request.h"

namespace rill::transport {

class replay_server::impl {
 public:
  impl(replay_options opt, std::function<uint64_t()> head, server_socket sock)
      : opt_(std::move(opt)), head_(std::move(head)), sock_(std::move(sock)),
        reader_(opt_.journal_dir), index_reader_(opt_.journal_dir) {}

  void serve(const std::atomic<bool>& stop, std::atomic<uint64_t>& requests,
             std::atomic<uint64_t>& dropped) {
    inbound in;
    while (!stop.load(std::memory_order_relaxed)) {
      zmq::pollitem_t item{sock_.socket().handle(), 0, ZMQ_POLLIN, 0};
      try {
        if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) == 0) continue;
      } catch (const zmq::error_t&) {
        continue;
      }
      while (sock_.recv(in, false)) {
        requests.fetch_add(1, std::memory_order_relaxed);
        out_.clear();
        handle(in);
        if (!sock_.reply(in, out_.span())) {
          // A client gone, or not reading for send_timeout (server_socket.h):
          // counted for rill-core's status and logged, at most every 10 s.
          dropped.store(sock_.dropped_replies(), std::memory_order_relaxed);
          const auto now = std::chrono::steady_clock::now();
          if (now - dropped_logged_at_ >= std::chrono::seconds(10)) {
            spdlog::warn("replay: {} replies dropped so far (clients gone or not reading)",
                         sock_.dropped_replies());
            dropped_logged_at_ = now;
          }
        }
      }
    }
  }

 private:
  void handle(const inbound& in) {
    if (in.empty || in.extra_frames) {
      encode_error(out_, errc::bad_request, in.empty ? "empty request" : "a request is one frame",
                   in.empty ? req_bytes() : find_req(in.bytes(), limits{}));
      return;
    }
    msgpack::object_handle oh;
    replay_request r;
    const errc e = decode_replay_request(in.bytes(), opt_.max_request_bytes, opt_.max_events, oh, r,
                                         message_);
    if (e != errc::ok) {
      encode_error(out_, e, message_, r.req);
      return;
    }
    switch (r.k) {
      case replay_request::kind::ping:
        encode_ack(out_, r.req);
        return;
      case replay_request::kind::aggregate:
        aggregate(r.agg, r.id, r.from_ver, r.max, r.req);
        return;
      case replay_request::kind::range:
        range(r.from, r.max, r.req);
        return;
    }
  }

  // Bytes of events a page may carry so that the whole reply stays within
  // max_bytes (PROTOCOL.md: a page is at most 8 MiB): what the map, its keys,
  // the array header, head and the echoed req take is kept back. One event
  // always goes out, whatever its size.
  size_t body_budget(req_bytes req) const {
    constexpr size_t kEnvelope = 64;
    return opt_.max_bytes > req.size() + kEnvelope ? opt_.max_bytes - req.size() - kEnvelope : 0;
  }

  void write_reply(size_t count, uint64_t head, req_bytes req) {
    msgpack::packer<out_buffer> pk(out_);
    pk.pack_map(req.empty() ? 3 : 4);
    pk.pack("ok");
    pk.pack(true);
    pk.pack("events");
    pk.pack_array(static_cast<uint32_t>(count));
    out_.write(bodies_.data(), bodies_.size());
    pk.pack("head");
    pk.pack(head);
    if (!req.empty()) {
      pk.pack("req");
      out_.write(req.data(), req.size());
    }
  }

  void range(uint64_t from, uint64_t max, req_bytes req) {
    const uint64_t head = head_();
    bodies_.clear();
    size_t count = 0;
    if (from <= head) {
      if (reader_.position_seq() != from && reader_.seek(from) != store::io_status::ok) {
        encode_error(out_, errc::unavailable, "the journal could not be read", req);
        return;
      }
      store::record_view rec;
      const size_t budget = body_budget(req);
      while (count < max && reader_.position_seq() <= head) {
        auto st = reader_.next(rec);
        if (st != store::io_status::ok) {
          // A record below head that cannot be read is damage: an empty page
          // would send a client paging on towards head round for ever. The
          // events before it go out first; the next page gets the error.
          if (count == 0 && st != store::io_status::end_of_log) {
            encode_error(out_, errc::unavailable,
                         "the journal cannot be read at seq " +
                             std::to_string(reader_.position_seq()) + " (" +
                             std::string(store::to_string(st)) +
                             "; 'rill journal verify' names the damage)",
                         req);
            return;
          }
          break;
        }
        // Not past the cap: the next page starts at this event (the reader
        // seeks back to `from` then).
        if (count > 0 && bodies_.size() + rec.body.size() > budget) break;
        bodies_.write(rec.body.data(), rec.body.size());
        ++count;
      }
    }
    write_reply(count, head, req);
  }

  // Brings the per-aggregate index up to `head`.
  void update_index(uint64_t head) {
    store::record_view rec;
    while (index_reader_.position_seq() <= head && index_reader_.next(rec) == store::io_status::ok) {
      event_head h;
      if (!peek_event(rec.body, h)) continue;
      key_.assign(h.agg).push_back('\0');
      key_.append(h.id);
      history_[key_].push_back(rec.seq);
    }
  }

  void aggregate(std::string_view agg, std::string_view id, uint64_t from_ver, uint64_t max,
                 req_bytes req) {
    const uint64_t head = head_();
    update_index(head);
    key_.assign(agg).push_back('\0');
    key_.append(id);
    auto it = history_.find(key_);
    if (it == history_.end()) {
      encode_error(out_, errc::not_found, "no aggregate " + std::string(agg) + "/" + std::string(id), req);
      return;
    }
    bodies_.clear();
    size_t count = 0;
    const auto& seqs = it->second;
    // Versions are dense from 1, in seq order: version v is seqs[v-1].
    const size_t budget = body_budget(req);
    for (size_t i = from_ver == 0 ? 0 : from_ver - 1; i < seqs.size() && count < max; ++i) {
      if (seqs[i] > head) break;
      store::record_view rec;
      if (reader_.seek(seqs[i]) != store::io_status::ok || reader_.next(rec) != store::io_status::ok) {
        encode_error(out_, errc::unavailable, "the journal could not be read", req);
        return;
      }
      if (count > 0 && bodies_.size() + rec.body.size() > budget) break;
      bodies_.write(rec.body.data(), rec.body.size());
      ++count;
    }
    write_reply(count, head, req);
  }

  replay_options opt_;
  std::function<uint64_t()> head_;
  server_socket sock_;
  store::journal_reader reader_;
  store::journal_reader index_reader_;
  absl::flat_hash_map<std::string, std::vector<uint64_t>> history_;
  std::string key_;
  std::string message_;
  out_buffer out_, bodies_;
  std::chrono::steady_clock::time_point dropped_logged_at_{};
};

replay_server::replay_server(zmq::context_t& ctx, replay_options opt,
                             std::function<uint64_t()> head, const server_security* sec) {
  auto sock = std::make_shared<server_socket>(ctx, opt.endpoint, opt.server, sec);
  auto state = std::make_shared<impl>(std::move(opt), std::move(head), std::move(*sock));
  thread_ = std::thread([this, state] { state->serve(stop_, requests_, dropped_); });
}

replay_server::~replay_server() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace rill::transport
