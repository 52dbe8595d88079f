#include "readmodels/projector_rebuild.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "readmodels/apply_ahead.h"
#include "readmodels/split_apply.h"

namespace rill::readmodels {

namespace {
constexpr uint64_t kPublishEvery = 4096;  // progress counters updated this often
constexpr auto kWaitForTarget = std::chrono::milliseconds(1);
constexpr auto kRetryUnavailable = std::chrono::milliseconds(100);
constexpr auto kHeadRefresh = std::chrono::milliseconds(500);
}  // namespace

rebuild_job::rebuild_job(std::unique_ptr<read_model> fresh, event_source_factory source,
                         const std::atomic<uint64_t>& target, unsigned threads)
    : fresh_(std::move(fresh)), factory_(std::move(source)), target_(target), threads_(threads) {
  thread_ = std::thread([this] { run(); });
}

rebuild_job::~rebuild_job() {
  cancel_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::unique_ptr<read_model> rebuild_job::take(uint64_t& applied) {
  if (thread_.joinable()) thread_.join();
  applied = applied_.load();
  return std::move(fresh_);
}

std::string rebuild_job::error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return error_;
}

void rebuild_job::fail(std::string why) {
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    error_ = std::move(why);
  }
  state_.store(state::failed, std::memory_order_release);
}

void rebuild_job::run() {
  std::unique_ptr<event_source> src;
  try {
    src = factory_();
  } catch (const std::exception& e) {
    fail(std::string("cannot open the event source: ") + e.what());
    return;
  }
  change_set ignored(false);  // a rebuild reports one whole-model change at the swap
  // Decodes a few events ahead and lets the model prefetch for them: a
  // rebuild of millions of events is bound by cache misses in the model.
  // With two threads and a source whose bodies stay valid long enough, a
  // second thread decodes and applies while this one reads.
  const size_t stable = src->stable_bodies();
  if (threads_ >= 2 && stable + 1 >= split_apply::kMinSlots) {
    split_apply split(*fresh_, ignored, std::min(split_apply::kDefaultSlots, stable + 1));
    drive(split, *src);
  } else {
    apply_ahead ahead(*fresh_, ignored, std::min(apply_ahead::kDefaultDepth, stable + 1));
    drive(ahead, *src);
  }
}

template <class Applier>
void rebuild_job::drive(Applier& ahead, event_source& src) {
  uint64_t pushed = 0, since_publish = 0, events = 0;
  auto last_head = std::chrono::steady_clock::now();
  head_.store(src.last_seq());
  if (src.seek(1) != source_status::ok) {
    fail("cannot seek: " + src.error());
    return;
  }
  try {
    while (!cancel_.load(std::memory_order_relaxed)) {
      source_event ev;
      const source_status s = src.next(ev);
      if (s == source_status::ok) {
        if (pushed != 0 && ev.seq != pushed + 1) {
          fail("the source skipped from seq " + std::to_string(pushed) + " to " +
               std::to_string(ev.seq));
          return;
        }
        ahead.push(ev.seq, ev.body);
        pushed = ev.seq;
        ++events;
        if (++since_publish >= kPublishEvery) {
          since_publish = 0;
          applied_.store(ahead.applied(), std::memory_order_relaxed);
          events_.store(events - ahead.queued(), std::memory_order_relaxed);
          const auto now = std::chrono::steady_clock::now();
          if (now - last_head >= kHeadRefresh) {
            last_head = now;
            if (const uint64_t h = src.last_seq(); h > head_.load()) head_.store(h);
          }
        }
        continue;
      }
      ahead.flush();  // the bodies stay valid: no next() since they were pushed
      const uint64_t applied = ahead.applied();
      applied_.store(applied, std::memory_order_relaxed);
      events_.store(events, std::memory_order_relaxed);
      if (applied > head_.load()) head_.store(applied);
      if (s == source_status::end) {
        if (applied >= target_.load(std::memory_order_acquire)) {
          state_.store(state::ready, std::memory_order_release);
          return;
        }
        std::this_thread::sleep_for(kWaitForTarget);
      } else if (s == source_status::unavailable) {
        spdlog::warn("rebuild of {}: {} (retrying)", fresh_->name(), src.error());
        std::this_thread::sleep_for(kRetryUnavailable);
      } else {
        fail(src.error());
        return;
      }
    }
  } catch (const std::exception& e) {
    fail(std::string("the model threw while applying seq ") + std::to_string(ahead.applied() + 1) + ": " +
         e.what());
  }
}

}  // namespace rill::readmodels
