#pragma once
// query_server: the query endpoint of one read model (ROUTER at
// `model.<name>`, PROTOCOL.md "Queries"), owned by the projector thread so
// that answering a query never takes a lock on the model's state.
//
// serve() drains the requests waiting on the socket (a bounded number per
// call) and answers each through the handler, or with an error the server
// can decide alone: bad_request (malformed, extra frames, no body),
// too_large, unknown_model (the request names another model). A request whose
// `after` is beyond what the model has applied is parked, not answered:
// other queries go on being served while it waits. release() answers the
// parked requests the model has now caught up with, and those whose
// timeout_ms has passed with `timeout`. At most max_parked requests, of at
// most max_parked_bytes in all, wait at once; more are answered `overloaded`.
//
// Ownership: owns its server_socket and the parked requests (their envelope
// and body). Borrows the context, which must outlive it.
// Thread-safety: none; created and used by the projector thread only.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include <zmq.hpp>

#include "core/buffer.h"
#include "readmodels/query_server_request.h"
#include "transport/security.h"
#include "transport/server_socket.h"

namespace rill::readmodels {

struct query_server_options {
  query_decode_options decode;
  size_t max_parked = 100'000;  // requests waiting for `after` at once
  // Bytes of those requests (body and envelope) at once: 100,000 small
  // queries take a few MiB, but a query may be 1 MiB.
  size_t max_parked_bytes = 64u << 20;
  size_t max_per_serve = 256;   // requests handled per serve() call
  // ... and no more once this much time has gone into them, so that a run
  // of costly queries (lists of 1 MB each) lets events be applied, parked
  // `after` queries be released and other models be served in between.
  std::chrono::microseconds serve_budget{2000};
  transport::server_options socket;
};

class query_server {
 public:
  using clock = std::chrono::steady_clock;
  // Writes the whole reply to a well-formed request for this model into
  // `reply` (which is empty on entry).
  using handler = std::function<void(const query_request& rq, out_buffer& reply)>;

  // Binds `endpoint`; throws zmq::error_t / std::runtime_error at startup.
  query_server(zmq::context_t& ctx, std::string model, const std::string& endpoint,
               query_server_options opt, const transport::server_security* sec = nullptr);

  const std::string& model() const { return model_; }
  const std::string& endpoint() const { return endpoint_; }
  zmq::socket_t& socket() { return socket_.socket(); }

  // Handles up to max_per_serve requests, or for up to serve_budget (at
  // least one request), without waiting. `applied` is the
  // model's last applied seq. Returns how many requests were handled.
  size_t serve(uint64_t applied, clock::time_point now, const handler& h);

  // Answers parked requests with after <= applied, and expired ones.
  void release(uint64_t applied, clock::time_point now, const handler& h);

  // The earliest parked deadline (time_point::max() when none is parked).
  clock::time_point next_deadline() const;
  // The smallest `after` of the parked requests (UINT64_MAX when none).
  uint64_t lowest_after() const;
  size_t parked() const { return parked_.size(); }
  size_t parked_bytes() const { return parked_bytes_; }

  uint64_t answered() const { return answered_; }
  uint64_t dropped_replies() const { return socket_.dropped_replies(); }

 private:
  struct parked_request {
    transport::inbound in;
    uint64_t after = 0;
    clock::time_point deadline;
    size_t bytes = 0;  // counted in parked_bytes_
  };
  // Decodes and answers one request; parks it when it must wait.
  void handle(transport::inbound& in, uint64_t applied, clock::time_point now, const handler& h,
              bool from_park);
  void send(const transport::inbound& in);
  void unpark(uint64_t id);

  std::string model_;
  std::string endpoint_;
  query_server_options opt_;
  transport::server_socket socket_;
  msgpack::zone zone_;
  out_buffer reply_;
  std::string message_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, parked_request> parked_;
  size_t parked_bytes_ = 0;
  std::multimap<uint64_t, uint64_t> by_after_;              // after -> id
  std::multimap<clock::time_point, uint64_t> by_deadline_;  // deadline -> id
  uint64_t answered_ = 0;
  clock::time_point dropped_logged_at_{};  // drops are logged at most every 10 s
};

}  // namespace rill::readmodels
