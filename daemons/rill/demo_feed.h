#pragma once
// demo_feed: the event feed as `rill demo` watches it. Wraps an
// event_subscriber (feed + replay, in seq order, without gaps) started at
// the demo's first seq, keeps every event it has seen (decoded to JSON), and
// waits for the first event matching a predicate.
//
// Ownership: borrows the zmq context, which must outlive it.
// Thread-safety: not thread-safe (one thread owns its sockets).
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "transport/client.h"

namespace rill::cli {

class demo_feed {
 public:
  using predicate = std::function<bool(const nlohmann::json&)>;

  // `cancelled` (may be empty) is asked while waiting; true ends the wait.
  demo_feed(zmq::context_t& ctx, const std::string& events_ep, const std::string& replay_ep,
            uint64_t from, std::function<bool()> cancelled = {});

  // The first event (seen before or arriving before `timeout`) for which
  // `match` is true; nullopt on timeout. `on_new` sees every newly received
  // event first. Searches from seen index `start` (0: all).
  std::optional<nlohmann::json> wait_for(
      const predicate& match, std::chrono::milliseconds timeout, size_t start = 0,
      const std::function<void(const nlohmann::json&)>& on_new = {});
  // Reads whatever has arrived, waiting at most `timeout` for the first one.
  void poll(std::chrono::milliseconds timeout);
  const std::vector<nlohmann::json>& seen() const { return seen_; }

 private:
  bool pull(std::chrono::milliseconds timeout);
  transport::event_subscriber sub_;
  std::vector<nlohmann::json> seen_;
  std::function<void(const nlohmann::json&)> on_new_;
  std::function<bool()> cancelled_;
};

}  // namespace rill::cli
