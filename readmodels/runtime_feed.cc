#include "readmodels/runtime_feed.h"

#include <iterator>
#include <optional>

#include <spdlog/spdlog.h>

#include "transport/handshake_watch.h"

namespace rill::readmodels {

feed_receiver::feed_receiver(zmq::context_t& ctx, feed_options opt, doorbell& bell,
                             const transport::client_security* sec)
    : ctx_(ctx),
      opt_(std::move(opt)),
      bell_(bell),
      sec_(sec),
      queue_(opt_.queue_capacity == 0 ? 1 : opt_.queue_capacity),
      consumer_(queue_) {
  if (opt_.queue_capacity == 0) opt_.queue_capacity = 1;
}

feed_receiver::~feed_receiver() {
  stop();
}

void feed_receiver::start() {
  if (thread_.joinable()) return;
  std::atomic<bool> ready{false};
  thread_ = std::thread([this, &ready] { run(&ready); });
  while (!ready.load()) std::this_thread::yield();
}

void feed_receiver::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

size_t feed_receiver::drain(std::vector<zmq::message_t>& out, size_t max) {
  const size_t at = out.size();
  out.resize(at + max);
  const size_t n =
      queue_.try_dequeue_bulk(consumer_, out.begin() + static_cast<ptrdiff_t>(at), max);
  out.resize(at + n);
  dequeued_.fetch_add(n, std::memory_order_relaxed);
  return n;
}

void feed_receiver::run(std::atomic<bool>* ready) {
  zmq::socket_t sub(ctx_, zmq::socket_type::sub);
  moodycamel::ProducerToken producer(queue_);
  try {
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::rcvhwm, opt_.rcvhwm);
    transport::apply_client_security(sub, opt_.endpoint, sec_);
    if (want_subscribed_.load(std::memory_order_relaxed)) {
      sub.set(zmq::sockopt::subscribe, "");
      subscribed_.store(true, std::memory_order_relaxed);
    }
    sub.connect(opt_.endpoint);
  } catch (const std::exception& e) {
    spdlog::error("event feed {}: {}; relying on the journal / replay only", opt_.endpoint,
                  e.what());
    ready->store(true);
    return;
  }
  ready->store(true);
  // A refused CURVE handshake ends libzmq's session for good: connect again.
  std::optional<transport::handshake_watch> watch;
  if (sec_ != nullptr) watch.emplace(ctx_, sub, opt_.endpoint, "the event feed");
  zmq::message_t topic, body, extra;
  while (!stop_.load(std::memory_order_relaxed)) {
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (watch) watch->tend();
      if (const bool want = want_subscribed_.load(std::memory_order_relaxed);
          want != subscribed_.load(std::memory_order_relaxed)) {
        if (want) {
          sub.set(zmq::sockopt::subscribe, "");
        } else {
          sub.set(zmq::sockopt::unsubscribe, "");
        }
        subscribed_.store(want, std::memory_order_relaxed);
      }
      if (zmq::poll(&item, 1, opt_.stop_poll) <= 0) continue;
      // Drain what is there before looking at the stop flag again.
      for (int burst = 0; burst < 4096; ++burst) {
        if (!sub.recv(topic, zmq::recv_flags::dontwait)) break;
        size_t parts = 1;
        bool more = topic.more();
        if (more) {
          (void)sub.recv(body, zmq::recv_flags::none);  // parts of a message arrive together
          ++parts;
          more = body.more();
        }
        while (more) {
          (void)sub.recv(extra, zmq::recv_flags::none);
          ++parts;
          more = extra.more();
        }
        received_.fetch_add(1, std::memory_order_relaxed);
        if (parts != 2 || body.size() == 0) {
          malformed_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        const uint64_t used =
            enqueued_.load(std::memory_order_relaxed) - dequeued_.load(std::memory_order_relaxed);
        if (used >= opt_.queue_capacity || !queue_.enqueue(producer, std::move(body))) {
          dropped_.fetch_add(1, std::memory_order_relaxed);
          body.rebuild();
          continue;
        }
        enqueued_.fetch_add(1, std::memory_order_seq_cst);
        bell_.ring();
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) break;
      // EINTR and friends: go round again.
    }
  }
}

}  // namespace rill::readmodels
