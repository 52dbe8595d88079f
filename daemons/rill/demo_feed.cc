#include "daemons/rill/demo_feed.h"

#include "daemons/rill/event_text.h"

namespace rill::cli {

demo_feed::demo_feed(zmq::context_t& ctx, const std::string& events_ep,
                     const std::string& replay_ep, uint64_t from, std::function<bool()> cancelled)
    : sub_(ctx, events_ep, replay_ep, from), cancelled_(std::move(cancelled)) {}

bool demo_feed::pull(std::chrono::milliseconds timeout) {
  std::string body;
  uint64_t seq = 0;
  if (!sub_.next(body, seq, timeout)) return false;
  auto ev = event_json({body.data(), body.size()});
  if (ev.is_discarded()) return true;  // not an event map: skip it
  seen_.push_back(std::move(ev));
  if (on_new_) on_new_(seen_.back());
  return true;
}

void demo_feed::poll(std::chrono::milliseconds timeout) {
  if (!pull(timeout)) return;
  while (pull(std::chrono::milliseconds(0))) {
  }
}

std::optional<nlohmann::json> demo_feed::wait_for(
    const predicate& match, std::chrono::milliseconds timeout, size_t start,
    const std::function<void(const nlohmann::json&)>& on_new) {
  on_new_ = on_new;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t i = start;
  std::optional<nlohmann::json> found;
  for (;;) {
    for (; i < seen_.size(); ++i)
      if (match(seen_[i])) {
        found = seen_[i];
        break;
      }
    if (found) break;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline || (cancelled_ && cancelled_())) break;
    pull(std::min(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                  std::chrono::milliseconds(200)));
  }
  on_new_ = nullptr;
  return found;
}

}  // namespace rill::cli
