#pragma once
// due_queue: the schedule of a saga's pending work items (orders, customers,
// campaigns, by index): each item is due at one time point, and tick() pops
// the items that are due, earliest first. Scheduling an item again moves it.
//
// It is runtime state only: time points of the steady clock are not portable
// across restarts, so it is never snapshotted; after load() a saga schedules
// every unfinished item at time_point::min() (due at the first tick).
//
// Thread-safety: not thread-safe.
#include <chrono>
#include <cstdint>
#include <set>
#include <utility>

#include <absl/container/flat_hash_map.h>

namespace rill::readmodels {

class due_queue {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  void schedule(uint32_t item, time_point at) {
    cancel(item);
    queue_.emplace(at, item);
    at_.emplace(item, at);
  }
  void cancel(uint32_t item) {
    auto it = at_.find(item);
    if (it == at_.end()) return;
    queue_.erase({it->second, item});
    at_.erase(it);
  }
  // Pops the earliest item due at or before `now`; false if none is due.
  bool pop_due(time_point now, uint32_t& item) {
    if (queue_.empty() || queue_.begin()->first > now) return false;
    item = queue_.begin()->second;
    queue_.erase(queue_.begin());
    at_.erase(item);
    return true;
  }
  bool contains(uint32_t item) const { return at_.contains(item); }
  bool empty() const { return queue_.empty(); }
  size_t size() const { return queue_.size(); }
  void clear() {
    queue_.clear();
    at_.clear();
  }

 private:
  std::set<std::pair<time_point, uint32_t>> queue_;
  absl::flat_hash_map<uint32_t, time_point> at_;
};

}  // namespace rill::readmodels
