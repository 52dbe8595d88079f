#include "transport/replay_server.h"

#include <spdlog/spdlog.h>

#include <absl/container/flat_hash_map.h>

#include "core/buffer.h"
#include "core/event.h"
#include "core/msgpack.h"
#include "core/reply.h"
#include "store/journal_reader.h"

namespace rill::transport {

class replay_server::impl {
 public:
  impl(replay_options opt, std::function<uint64_t()> head, server_socket sock)
      : opt_(std::move(opt)), head_(std::move(head)), sock_(std::move(sock)),
        reader_(opt_.journal_dir), index_reader_(opt_.journal_dir) {}

  void serve(const std::atomic<bool>& stop, std::atomic<uint64_t>& requests) {
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
        sock_.reply(in, out_.span());
      }
    }
  }

 private:
  static const msgpack::object* get(const msgpack::object& m, std::string_view key) {
    for (uint32_t i = 0; i < m.via.map.size; ++i) {
      const auto& kv = m.via.map.ptr[i];
      if (kv.key.type == msgpack::type::STR &&
          std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key)
        return &kv.val;
    }
    return nullptr;
  }
  static bool get_uint(const msgpack::object& m, std::string_view key, uint64_t& v, bool& bad) {
    const auto* o = get(m, key);
    if (o == nullptr || o->type == msgpack::type::NIL) return false;
    if (o->type != msgpack::type::POSITIVE_INTEGER) {
      bad = true;
      return false;
    }
    v = o->via.u64;
    return true;
  }

  void handle(const inbound& in) {
    if (in.empty || in.extra_frames) {
      encode_error(out_, errc::bad_request, in.empty ? "empty request" : "a request is one frame",
                   nullptr);
      return;
    }
    if (in.body.size() > opt_.max_request_bytes) {
      encode_error(out_, errc::too_large, "replay requests are small maps", nullptr);
      return;
    }
    msgpack::object_handle oh;
    try {
      oh = msgpack::unpack(static_cast<const char*>(in.body.data()), in.body.size(), nullptr,
                           nullptr, msgpack::unpack_limit(64, 64, 4096, 4096, 64, 8));
    } catch (const std::exception&) {
      encode_error(out_, errc::bad_request, "not MessagePack", nullptr);
      return;
    }
    const auto& root = oh.get();
    if (root.type != msgpack::type::MAP) {
      encode_error(out_, errc::bad_request, "a replay request is a map", nullptr);
      return;
    }
    const msgpack::object* req = get(root, "req");
    if (const auto* op = get(root, "op")) {
      if (op->type == msgpack::type::STR && std::string_view(op->via.str.ptr, op->via.str.size) == "ping")
        encode_ack(out_, req);
      else
        encode_error(out_, errc::bad_request, "unknown op (replay knows ping)", req);
      return;
    }
    bool bad = false;
    uint64_t max = opt_.max_events;
    if (get_uint(root, "max", max, bad) && max == 0) max = opt_.max_events;
    max = std::min<uint64_t>(max, opt_.max_events);
    if (get(root, "agg") != nullptr || get(root, "id") != nullptr) {
      const auto* agg = get(root, "agg");
      const auto* id = get(root, "id");
      uint64_t from_ver = 1;
      get_uint(root, "from_ver", from_ver, bad);
      if (bad || !agg || !id || agg->type != msgpack::type::STR || id->type != msgpack::type::STR) {
        encode_error(out_, errc::bad_request,
                     "aggregate history needs agg (string), id (string), from_ver (uint, optional)", req);
        return;
      }
      aggregate(std::string_view(agg->via.str.ptr, agg->via.str.size),
                std::string_view(id->via.str.ptr, id->via.str.size), from_ver, max, req);
      return;
    }
    uint64_t from = 0;
    if (!get_uint(root, "from", from, bad) || bad) {
      encode_error(out_, errc::bad_request, "replay needs from (uint) and max (uint, optional)", req);
      return;
    }
    range(from == 0 ? 1 : from, max, req);
  }

  void write_reply(size_t count, uint64_t head, const msgpack::object* req) {
    msgpack::packer<out_buffer> pk(out_);
    pk.pack_map(req != nullptr ? 4 : 3);
    pk.pack("ok");
    pk.pack(true);
    pk.pack("events");
    pk.pack_array(static_cast<uint32_t>(count));
    out_.write(bodies_.data(), bodies_.size());
    pk.pack("head");
    pk.pack(head);
    if (req != nullptr) {
      pk.pack("req");
      pk.pack(*req);
    }
  }

  void range(uint64_t from, uint64_t max, const msgpack::object* req) {
    const uint64_t head = head_();
    bodies_.clear();
    size_t count = 0;
    if (from <= head) {
      if (reader_.position_seq() != from && reader_.seek(from) != store::io_status::ok) {
        encode_error(out_, errc::unavailable, "the journal could not be read", req);
        return;
      }
      store::record_view rec;
      while (count < max && reader_.position_seq() <= head &&
             (count == 0 || bodies_.size() < opt_.max_bytes)) {
        auto st = reader_.next(rec);
        if (st != store::io_status::ok) break;
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
                 const msgpack::object* req) {
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
    for (size_t i = from_ver == 0 ? 0 : from_ver - 1; i < seqs.size() && count < max; ++i) {
      if (seqs[i] > head) break;
      store::record_view rec;
      if (reader_.seek(seqs[i]) != store::io_status::ok || reader_.next(rec) != store::io_status::ok) {
        encode_error(out_, errc::unavailable, "the journal could not be read", req);
        return;
      }
      bodies_.write(rec.body.data(), rec.body.size());
      ++count;
      if (bodies_.size() >= opt_.max_bytes) break;
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
  out_buffer out_, bodies_;
};

replay_server::replay_server(zmq::context_t& ctx, replay_options opt,
                             std::function<uint64_t()> head, const server_security* sec) {
  auto sock = std::make_shared<server_socket>(ctx, opt.endpoint, opt.server, sec);
  auto state = std::make_shared<impl>(std::move(opt), std::move(head), std::move(*sock));
  thread_ = std::thread([this, state] { state->serve(stop_, requests_); });
}

replay_server::~replay_server() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace rill::transport
