#include "transport/event_publisher.h"

#include <spdlog/spdlog.h>

#include "core/event.h"
#include "store/journal_reader.h"
#include "transport/server_socket.h"

namespace rill::transport {

namespace {
// The publisher runs in the writer's process and reads only records that
// process appended after start_after, a moment after appending them:
// length and seq are still checked, the body checksum is not re-computed.
store::reader_options reader_opts(const publisher_options& o) {
  return {.verify_checksums = false, .release = o.release};
}
}  // namespace

event_publisher::event_publisher(zmq::context_t& ctx, publisher_options opt,
                                 const server_security* sec)
    : opt_(std::move(opt)), limit_(opt_.start_after), sent_(opt_.start_after) {
  zmq::socket_t sock(ctx, zmq::socket_type::pub);
  sock.set(zmq::sockopt::sndhwm, opt_.send_hwm);
  sock.set(zmq::sockopt::linger, 0);
  apply_server_security(sock, opt_.endpoint, sec);
  bind_endpoint(sock, opt_.endpoint);
  next_ = opt_.start_after + 1;
  if (opt_.inline_send) {
    inline_sock_ = std::make_unique<zmq::socket_t>(std::move(sock));
    inline_reader_ = std::make_unique<store::journal_reader>(opt_.journal_dir, reader_opts(opt_));
    if (inline_reader_->seek(next_) != store::io_status::ok)
      spdlog::error("publisher: cannot seek the journal to {}", next_);
    return;
  }
  thread_ = std::thread([this, s = std::move(sock)]() mutable { run(std::move(s)); });
}

event_publisher::~event_publisher() {
  stop_.store(true);
  limit_.store(UINT64_MAX);  // wakes the waiter: wait() returns only on a changed value
  limit_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void event_publisher::advance(uint64_t seq) {
  uint64_t cur = limit_.load(std::memory_order_relaxed);
  while (seq > cur && !limit_.compare_exchange_weak(cur, seq, std::memory_order_release)) {
  }
  if (inline_sock_) {
    if (next_ <= seq && !pump(*inline_sock_, *inline_reader_, seq)) (void)inline_reader_->seek(next_);
    return;
  }
  if (seq > cur) limit_.notify_one();
}

bool event_publisher::pump(zmq::socket_t& sock, store::journal_reader& reader, uint64_t lim) {
  while (next_ <= lim) {
    store::record_view rec;
    auto st = reader.next(rec);
    if (st == store::io_status::end_of_log) return true;  // not mapped yet: next time
    if (st != store::io_status::ok) {
      spdlog::error("publisher: journal read failed at seq {}: {}", next_, store::to_string(st));
      return false;
    }
    if (rec.seq < next_) continue;
    topic_.clear();
    if (event_kind_head kind; peek_event_kind(rec.body, kind)) {
      topic_.append(kind.agg).push_back('/');
      topic_.append(kind.type);
    } else if (event_head head; peek_event(rec.body, head)) {
      topic_.append(head.agg).push_back('/');
      topic_.append(head.type);
    }
    try {
      sock.send(zmq::buffer(topic_), zmq::send_flags::sndmore);
      sock.send(zmq::const_buffer(rec.body.data(), rec.body.size()), zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return true;
    }
    next_ = rec.seq + 1;
    sent_.store(rec.seq, std::memory_order_relaxed);
  }
  return true;
}

void event_publisher::run(zmq::socket_t sock) {
  store::journal_reader reader(opt_.journal_dir, reader_opts(opt_));
  if (reader.seek(next_) != store::io_status::ok) spdlog::error("publisher: cannot seek the journal to {}", next_);
  while (!stop_.load(std::memory_order_relaxed)) {
    const uint64_t lim = limit_.load(std::memory_order_acquire);
    if (next_ > lim) {
      limit_.wait(lim, std::memory_order_acquire);
      continue;
    }
    const uint64_t before = next_;
    if (!pump(sock, reader, lim)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      (void)reader.seek(next_);
      continue;
    }
    if (next_ == before && next_ <= lim) {
      // The limit can run ahead of what this reader has mapped for a moment.
      store::record_view rec;
      if (reader.wait_next(rec, std::chrono::milliseconds(10)) == store::io_status::ok)
        (void)reader.seek(next_);  // re-read it through pump
    }
  }
}

}  // namespace rill::transport
