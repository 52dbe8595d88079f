#include "readmodels/event_source_replay.h"

#include <string_view>

#include "core/buffer.h"
#include "core/event.h"
#include "core/msgpack.h"
#include "readmodels/replay_reply.h"

namespace rill::readmodels {

event_source_replay::event_source_replay(zmq::context_t& ctx, replay_options opt,
                                         const transport::client_security* sec)
    : ctx_(ctx), opt_(std::move(opt)), sec_(sec) {
  if (opt_.page == 0) opt_.page = 1;
  reconnect();
}

void event_source_replay::reconnect() {
  socket_ = zmq::socket_t(ctx_, zmq::socket_type::dealer);
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(opt_.max_reply_bytes));
  transport::apply_client_security(socket_, opt_.endpoint, sec_);
  socket_.connect(opt_.endpoint);
}

source_status event_source_replay::seek(uint64_t seq) {
  if (seq == 0) seq = 1;
  if (seq == pos_) return source_status::ok;
  // Keep the buffered page if seq falls inside it.
  if (!page_.empty() && seq >= page_.front().seq && seq <= page_.back().seq) {
    page_at_ = static_cast<size_t>(seq - page_.front().seq);
  } else {
    page_.clear();
    page_at_ = 0;
  }
  pos_ = seq;
  return source_status::ok;
}

source_status event_source_replay::next(source_event& out) {
  if (page_at_ >= page_.size()) {
    const auto s = fetch();
    if (s != source_status::ok) return s;
    if (page_.empty()) return source_status::end;
  }
  out = page_[page_at_++];
  pos_ = out.seq + 1;
  return source_status::ok;
}

uint64_t event_source_replay::last_seq() {
  if (page_at_ < page_.size()) return head_;
  // A request from the current position both refreshes the head and fills
  // the next page, so nothing is wasted.
  if (fetch() != source_status::ok) return 0;
  return head_;
}

source_status event_source_replay::fetch() {
  page_.clear();
  page_at_ = 0;
  out_buffer req;
  msgpack::packer<out_buffer> pk(req);
  const uint64_t id = next_req_++;
  pk.pack_map(3);
  pk.pack("from");
  pk.pack(pos_);
  pk.pack("max");
  pk.pack(opt_.page);
  pk.pack("req");
  pk.pack(id);
  try {
    if (!socket_.send(zmq::const_buffer(req.data(), req.size()), zmq::send_flags::dontwait)) {
      error_ = "replay " + opt_.endpoint + ": cannot send (not connected)";
      reconnect();
      return source_status::unavailable;
    }
    const auto deadline = std::chrono::steady_clock::now() + opt_.timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      if (left.count() <= 0 || zmq::poll(&item, 1, left) <= 0) {
        error_ = "replay " + opt_.endpoint + ": no answer within " +
                 std::to_string(opt_.timeout.count()) + " ms";
        reconnect();  // drop the request in flight (lazy pirate)
        return source_status::unavailable;
      }
      zmq::message_t msg;
      if (!socket_.recv(msg, zmq::recv_flags::dontwait)) continue;
      while (msg.more()) {  // a well-behaved server sends [delimiter?][body]: keep the last
        zmq::message_t part;
        (void)socket_.recv(part, zmq::recv_flags::none);
        msg = std::move(part);
      }
      page_msg_ = std::move(msg);
      const auto s = parse({static_cast<const char*>(page_msg_.data()), page_msg_.size()});
      if (s == source_status::end) continue;  // a stale reply to an earlier request
      return s;
    }
  } catch (const zmq::error_t& e) {
    error_ = "replay " + opt_.endpoint + ": " + e.what();
    return source_status::unavailable;
  }
}

// Returns end for a reply to another request, ok with page_ filled, or
// unavailable/corrupt (readmodels/replay_reply.h).
source_status event_source_replay::parse(std::span<const char> reply) {
  std::string why;
  const auto s = parse_replay_reply(reply, pos_, next_req_ - 1, head_, page_, why);
  if (s == source_status::ok) {
    page_at_ = 0;
  } else if (s != source_status::end) {
    error_ = "replay " + opt_.endpoint + ": " + why;
  }
  return s;
}

}  // namespace rill::readmodels
