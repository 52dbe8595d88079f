#include "readmodels/runtime_bell_watch.h"

#include <sys/stat.h>

#include <algorithm>
#include <memory>

#include "store/journal_bell.h"

namespace rill::readmodels {

namespace {
// A sleep is cut at this length so that stop() is seen without a wake-up.
constexpr auto kMaxSleep = std::chrono::milliseconds(20);
// How often a missing bell is looked for.
constexpr auto kRetry = std::chrono::seconds(1);
}  // namespace

bell_watch::bell_watch(std::filesystem::path journal_dir, doorbell& bell,
                       std::function<void(bool attached)> on_attach,
                       std::chrono::microseconds coalesce)
    : dir_(std::move(journal_dir)),
      bell_(bell),
      on_attach_(std::move(on_attach)),
      coalesce_(coalesce) {}

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

void bell_watch::attach(bool on) {
  attached_.store(on, std::memory_order_release);
  if (on_attach_) on_attach_(on);
  bell_.ring();  // records published while nothing watched
}

// The inode of <dir>/BELL, 0 if it cannot be read.
static ino_t bell_inode(const std::filesystem::path& dir) {
  struct stat st {};
  return ::stat((dir / "BELL").c_str(), &st) == 0 ? st.st_ino : 0;
}

void bell_watch::pause(std::chrono::microseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  for (auto now = std::chrono::steady_clock::now();
       now < until && !stop_.load(std::memory_order_relaxed);
       now = std::chrono::steady_clock::now())
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(until - now, kMaxSleep));
}

void bell_watch::run() {
  std::unique_ptr<store::journal_bell> jb;
  uint32_t last = 0;
  ino_t inode = 0;
  auto checked = std::chrono::steady_clock::now();
  while (!stop_.load(std::memory_order_relaxed)) {
    if (!jb) {
      inode = bell_inode(dir_);
      jb = store::journal_bell::open_reader(dir_);
      if (!jb) {
        pause(kRetry);
        continue;
      }
      last = jb->rings();
      checked = std::chrono::steady_clock::now();
      attach(true);
    }
    if (const auto now = std::chrono::steady_clock::now(); now - checked >= kRetry) {
      checked = now;
      if (bell_inode(dir_) != inode) {  // replaced: its writer rings another page
        jb.reset();
        attach(false);
        continue;
      }
    }
    const uint32_t seen = jb->enter();
    if (seen == last) jb->sleep(seen, kMaxSleep);
    jb->leave();
    const uint32_t now = jb->rings();
    if (now != last) {
      last = now;
      rings_.fetch_add(1, std::memory_order_relaxed);
      bell_.ring();
      // Not a sleeper on the bell meanwhile: publishes make no wake call,
      // and the next look finds them all.
      if (coalesce_.count() > 0) pause(coalesce_);
    }
  }
}

}  // namespace rill::readmodels
