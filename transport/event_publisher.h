#pragma once
// event_publisher: the live event feed (PROTOCOL.md "Events"). Owns one
// thread and its PUB socket; tails the journal in-process and publishes each
// record as [topic "<agg>/<TYPE>", body] with the body bytes exactly as
// journaled (no second encode).
//
// It publishes up to a limit the command thread raises with advance(): the
// published head, or in `batch` sync mode the durable head, so the feed never
// shows an event before its command could have been acknowledged.
//
// A slow subscriber never slows the core: PUB drops what a subscriber's
// high-water mark cannot hold; subscribers see the gap in seq and read the
// missed events from the journal or the replay endpoint.
//
// Thread-safety: advance(), limit() and sent() are thread-safe; construct and
// destroy from one thread.
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "transport/security.h"

namespace rill::transport {

struct publisher_options {
  std::string endpoint;
  std::filesystem::path journal_dir;
  int send_hwm = 100'000;
  uint64_t start_after = 0;  // publish records with seq > start_after
};

class event_publisher {
 public:
  // Binds the endpoint at once (throws on failure) and starts the thread.
  event_publisher(zmq::context_t& ctx, publisher_options opt, const server_security* sec);
  ~event_publisher();
  event_publisher(const event_publisher&) = delete;
  event_publisher& operator=(const event_publisher&) = delete;

  // Allows publishing every record up to `seq`. Thread-safe; cheap when the
  // limit does not move.
  void advance(uint64_t seq);
  uint64_t limit() const { return limit_.load(std::memory_order_acquire); }
  uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }

 private:
  void run(zmq::socket_t sock);
  publisher_options opt_;
  std::atomic<uint64_t> limit_;
  std::atomic<uint64_t> sent_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace rill::transport
