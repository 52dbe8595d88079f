#pragma once
// event_publisher: the live event feed (PROTOCOL.md "Events"). Owns the PUB
// socket and (unless inline_send) a thread; tails the journal in-process and
// publishes each record as [topic "<agg>/<TYPE>", body] with the body bytes
// exactly as journaled (no second encode); the topic comes from the body's
// first four fields (peek_event_kind). With inline_send, advance() sends on
// the calling thread (rill-core's command thread), saving a thread wake-up
// per batch on the way to subscribers.
//
// It must run in the process that appends to the journal: it does not
// re-compute the checksum of the records it reads back (length and seq are
// still checked; store::reader_options).
//
// It publishes up to a limit the command thread raises with advance(): the
// published head, or in `batch` sync mode the durable head, so the feed never
// shows an event before its command could have been acknowledged.
//
// A slow subscriber never slows the core: PUB drops what a subscriber's
// high-water mark cannot hold; subscribers see the gap in seq and read the
// missed events from the journal or the replay endpoint.
//
// Thread-safety: advance(), limit() and sent() are thread-safe (with
// inline_send, advance() must always come from one thread); construct and
// destroy from one thread.
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "store/journal_reader.h"
#include "transport/security.h"

namespace rill::transport {

struct publisher_options {
  std::string endpoint;
  std::filesystem::path journal_dir;
  int send_hwm = 100'000;
  uint64_t start_after = 0;  // publish records with seq > start_after
  // Send from the caller of advance() instead of a thread of its own (one
  // thread hop less between an append and the feed; the caller pays for the
  // sends). advance() must then always be called from the same thread.
  bool inline_send = false;
  // Where the publisher's journal reader hands the segments it leaves
  // (store::reader_options::release); unset: it unmaps them itself.
  std::function<void(std::unique_ptr<store::segment_file>)> release;
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
  // Sends every record from next_ up to `lim`; false on a read error (the
  // caller retries later).
  bool pump(zmq::socket_t& sock, store::journal_reader& reader, uint64_t lim);
  publisher_options opt_;
  uint64_t next_ = 1;
  std::string topic_;
  std::unique_ptr<zmq::socket_t> inline_sock_;
  std::unique_ptr<store::journal_reader> inline_reader_;
  std::atomic<uint64_t> limit_;
  std::atomic<uint64_t> sent_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace rill::transport
