#pragma once
// event_source_replay: an event_source over rill-core's replay endpoint
// (PROTOCOL.md "Replay"), for a projection daemon on another host or without
// access to the journal directory. Pages through
//   {"from": <seq>, "max": <page>, "req": <n>} -> {"ok", "events": [...], "head", "req"}
// keeping one page of events. Event bodies are views into the reply message
// (located with a cursor, not re-encoded), valid until the next call.
//
// Ownership: owns one DEALER socket on the borrowed context (which must
// outlive it). Thread-safety: none; create and use on one thread.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "readmodels/event_source.h"
#include "transport/security.h"

namespace rill::readmodels {

struct replay_options {
  std::string endpoint;
  uint32_t page = 4096;                     // events asked for per request
  std::chrono::milliseconds timeout{2000};  // per request; then unavailable
  size_t max_reply_bytes = 256u << 20;      // larger replies are refused (corrupt)
};

class event_source_replay final : public event_source {
 public:
  // Connects at once (ZeroMQ connects lazily; nothing blocks here).
  event_source_replay(zmq::context_t& ctx, replay_options opt,
                      const transport::client_security* sec = nullptr);

  source_status seek(uint64_t seq) override;
  source_status next(source_event& out) override;
  uint64_t position() const override { return pos_; }
  uint64_t last_seq() override;
  const std::string& error() const override { return error_; }
  std::string_view kind() const override { return "replay"; }

 private:
  source_status fetch();  // asks for the page starting at pos_
  source_status parse(std::span<const char> reply);
  void reconnect();

  zmq::context_t& ctx_;
  replay_options opt_;
  const transport::client_security* sec_;
  zmq::socket_t socket_;
  uint64_t pos_ = 1;
  uint64_t head_ = 0;
  uint64_t next_req_ = 1;
  zmq::message_t page_msg_;
  std::vector<source_event> page_;
  size_t page_at_ = 0;
  std::string error_;
};

}  // namespace rill::readmodels
