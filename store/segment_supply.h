#pragma once
// segment_supply: where the journal writer gets its next segment file from,
// and the prefaulter that keeps pages mapped ahead of it.
//
// With prefault_ahead > 0 a background thread keeps [write position,
// write position + prefault_ahead) of the current segment populated
// (MADV_POPULATE_WRITE; fallback: an atomic fetch_add(0) on one word per
// page, never a plain store, since the writer may reach the page at the
// same time) and prepares the next segment file (create, fallocate, map,
// populate its start) before the current one is full. Without it, the
// writer creates segments itself when it rolls over.
//
// Ownership: shares segment_file objects with the writer (shared_ptr), and
// drops the writer's reference to each segment it leaves (retire()); owns
// its thread, joined in the destructor.
// Thread-safety: note_position() and poke() are wait-free and called by the
// writer thread on its hot path; the other methods are thread-safe.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/segment_file.h"
#include "store/status.h"

namespace rill::store {

class segment_supply {
 public:
  // Creates (or, if it exists, opens) segment `index` of the journal in dir.
  struct config {
    std::filesystem::path dir;
    uint64_t segment_size = 0;         // for segments created from now on
    uint64_t prefault_ahead = 0;       // 0 = no background thread
    std::function<uint64_t()> clock;   // ns since epoch for new headers
  };

  explicit segment_supply(config cfg);
  ~segment_supply();
  segment_supply(const segment_supply&) = delete;
  segment_supply& operator=(const segment_supply&) = delete;

  // Sets the segment the writer writes into and its write offset; starts the
  // background thread on first call.
  void set_current(std::shared_ptr<segment_file> seg, uint64_t pos);

  // The writer's write offset in the current segment (the writer reports it
  // every few MiB, before poke()). Wait-free.
  void note_position(uint64_t pos) { pos_.store(pos, std::memory_order_relaxed); }
  // Wakes the prefaulter if the writer is getting close to the populated
  // edge. Returns the offset at which the writer should poke again.
  uint64_t poke(uint64_t pos);

  // Populated bytes beyond the writer's position in the current segment.
  uint64_t populated_ahead() const {
    const uint64_t pos = pos_.load(std::memory_order_relaxed);
    const uint64_t populated = populated_.load(std::memory_order_relaxed);
    return populated > pos ? populated - pos : 0;
  }

  // Segment `index` for the writer: the prepared one if ready, else created
  // (or opened) now. io_error (disk full, ...) with error set.
  [[nodiscard]] io_status take(uint32_t index, std::shared_ptr<segment_file>& out,
                               std::string& error);

  // Segments the writer rewound out of (discard_unpublished): they become
  // the next ones handed out, in order.
  void give_back(std::vector<std::shared_ptr<segment_file>> segs);

  // The writer's reference to a segment it has left. With the background
  // thread, that thread drops it: unmapping a full segment of 256 MiB takes
  // about 16 ms here, which the writer (the command thread) would otherwise
  // spend in the middle of a batch. Without the thread it is dropped here.
  void retire(std::shared_ptr<segment_file> seg);

  // Opens an existing segment file or creates it. Thread-safe.
  [[nodiscard]] io_status obtain(uint32_t index, std::shared_ptr<segment_file>& out,
                                 std::string& error) const;

  // Populates [from, to) of seg's mapping for writing. Thread-safe.
  static void populate(const segment_file& seg, uint64_t from, uint64_t to);

 private:
  struct ready_segment {
    std::shared_ptr<segment_file> seg;
    uint64_t populated = 0;
  };
  void run();
  bool step(std::unique_lock<std::mutex>& lock);

  config cfg_;
  std::atomic<uint64_t> pos_{0};
  std::atomic<uint64_t> populated_{0};  // of the current segment
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<segment_file> current_;
  std::deque<ready_segment> ready_;
  std::vector<std::shared_ptr<segment_file>> retiring_;  // for the thread to drop
  bool preparing_ = false;
  bool stop_ = false;
  bool prepare_failed_ = false;  // last background prepare failed: leave it to the writer
  std::thread thread_;
};

}  // namespace rill::store
