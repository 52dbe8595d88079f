#include "readmodels/runtime_bell_watch.h"

#include <memory>

#include "store/journal_bell.h"

namespace rill::readmodels {

namespace {
// A sleep is cut at this length so that stop() is seen without a wake-up.
constexpr auto kMaxSleep = std::chrono::milliseconds(20);
// How often a missing bell is looked for.
constexpr auto kRetry = std::chrono::seconds(1);
constexpr auto kRetryStep = std::chrono::milliseconds(20);
}  // namespace

bell_watch::bell_watch(std::filesystem::path journal_dir, doorbell& bell)
    : dir_(std::move(journal_dir)), bell_(bell) {}

bell_watch::~bell_watch() {
  stop();
}

void bell_watch::start() {
  if (thread_.joinable()) return;
  stop_.store(false);
  thread_ = std::thread([this] { run(); });
}

void bell_watch::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void bell_watch::run() {
  std::unique_ptr<store::journal_bell> jb;
  uint32_t last = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    if (!jb) {
      jb = store::journal_bell::open_reader(dir_);
      if (!jb) {
        for (auto waited = std::chrono::milliseconds(0);
             waited < kRetry && !stop_.load(std::memory_order_relaxed); waited += kRetryStep)
          std::this_thread::sleep_for(kRetryStep);
        continue;
      }
      attached_.store(true, std::memory_order_release);
      last = jb->rings();
      bell_.ring();  // records published before we attached
    }
    const uint32_t seen = jb->enter();
    if (seen == last) jb->sleep(seen, kMaxSleep);
    jb->leave();
    const uint32_t now = jb->rings();
    if (now != last) {
      last = now;
      rings_.fetch_add(1, std::memory_order_relaxed);
      bell_.ring();
    }
  }
}

}  // namespace rill::readmodels
