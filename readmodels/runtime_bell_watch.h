#pragma once
// runtime_bell_watch: for a rill-proj that reads a journal on its own host.
// A thread sleeps on the journal's bell (store/journal_bell.h) and rings the
// projector's doorbell each time rill-core publishes, so the projector wakes
// one futex hand-off after an append. The event feed (runtime_feed.h) wakes
// it too, later: its path crosses two ZeroMQ I/O threads and the receive
// thread, and costs both daemons CPU per event, so the runtime unsubscribes
// from the feed while a bell is attached (the on_attach callback). Without a
// bell (an older journal, another user's files) this thread looks for one
// every second and the feed wakes the projector. A bell file replaced under
// it (deleted, then recreated by a new rill-core) is noticed within a second
// and reopened.
//
// Coalescing: with a window W > 0, after each ring the thread waits W before
// it looks at the bell again, so under a steady load the projector is rung at
// most once per W (and applies everything published meanwhile), and the
// writer makes no FUTEX_WAKE call while the thread waits. The first publish
// after a quiet spell still rings at once.
//
// Ownership: owns its thread; borrows the doorbell, which must outlive it.
// Thread-safety: start() and stop() from the owner thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <thread>

#include "readmodels/runtime_doorbell.h"

namespace rill::readmodels {

class bell_watch {
 public:
  // on_attach(true) when a bell is opened, on_attach(false) when it is let
  // go; called on the watch's thread.
  bell_watch(std::filesystem::path journal_dir, doorbell& bell,
             std::function<void(bool attached)> on_attach = {},
             std::chrono::microseconds coalesce = std::chrono::microseconds(0));
  ~bell_watch();
  bell_watch(const bell_watch&) = delete;
  bell_watch& operator=(const bell_watch&) = delete;

  void start();
  // Stops and joins the thread. Idempotent.
  void stop();

  // Times the projector's doorbell was rung from the journal's bell.
  uint64_t rings() const { return rings_.load(std::memory_order_relaxed); }
  // True once the journal's bell is open.
  bool attached() const { return attached_.load(std::memory_order_acquire); }

 private:
  void run();
  // Sleeps for `d`, in steps of at most kMaxSleep, or until stop().
  void pause(std::chrono::microseconds d);
  void attach(bool on);
  std::filesystem::path dir_;
  doorbell& bell_;
  std::function<void(bool)> on_attach_;
  std::chrono::microseconds coalesce_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> attached_{false};
  std::atomic<uint64_t> rings_{0};
  std::thread thread_;
};

}  // namespace rill::readmodels
