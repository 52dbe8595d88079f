#include "transport/event_publisher.h"

#include <spdlog/spdlog.h>

#include "core/event.h"
#include "store/journal_reader.h"
#include "transport/server_socket.h"

namespace rill::transport {

event_publisher::event_publisher(zmq::context_t& ctx, publisher_options opt,
                                 const server_security* sec)
    : opt_(std::move(opt)), limit_(opt_.start_after), sent_(opt_.start_after) {
  zmq::socket_t sock(ctx, zmq::socket_type::pub);
  sock.set(zmq::sockopt::sndhwm, opt_.send_hwm);
  sock.set(zmq::sockopt::linger, 0);
  apply_server_security(sock, opt_.endpoint, sec);
  prepare_ipc_endpoint(opt_.endpoint);
  sock.bind(opt_.endpoint);
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
  if (seq > cur) limit_.notify_one();
}

void event_publisher::run(zmq::socket_t sock) {
  store::journal_reader reader(opt_.journal_dir);
  uint64_t next = opt_.start_after + 1;
  if (reader.seek(next) != store::io_status::ok) spdlog::error("publisher: cannot seek the journal to {}", next);
  std::string topic;
  while (!stop_.load(std::memory_order_relaxed)) {
    uint64_t lim = limit_.load(std::memory_order_acquire);
    if (next > lim) {
      limit_.wait(lim, std::memory_order_acquire);
      continue;
    }
    store::record_view rec;
    auto st = reader.next(rec);
    if (st == store::io_status::end_of_log) {
      // The limit can run ahead of what this reader has mapped for a moment.
      st = reader.wait_next(rec, std::chrono::milliseconds(10));
      if (st == store::io_status::end_of_log) continue;
    }
    if (st != store::io_status::ok) {
      spdlog::error("publisher: journal read failed at seq {}: {}", next, store::to_string(st));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      (void)reader.seek(next);
      continue;
    }
    if (rec.seq < next) continue;
    event_head head;
    topic.clear();
    if (peek_event(rec.body, head)) {
      topic.append(head.agg).push_back('/');
      topic.append(head.type);
    }
    try {
      sock.send(zmq::buffer(topic), zmq::send_flags::sndmore);
      sock.send(zmq::const_buffer(rec.body.data(), rec.body.size()), zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
    }
    next = rec.seq + 1;
    sent_.store(rec.seq, std::memory_order_relaxed);
  }
}

}  // namespace rill::transport
