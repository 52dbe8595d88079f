#pragma once
// snapshot_writer: writes snapshots on a background thread, so that the
// projector thread only pays for read_model::save() (serialising into
// memory), never for the disk (write, fdatasync, rename, directory fsync).
//
// One job per model at a time: submit() refuses a job for a model whose
// previous snapshot is still being written. finished() hands back the
// outcome of completed jobs.
//
// Ownership: owns its thread and the queued bodies; borrows the
// snapshot_stores, which must outlive it. Thread-safety: submit(),
// finished(), busy(), wait_idle() from the projector thread; the thread only
// touches the stores of the jobs it runs (and the stores are not used by
// anyone else while a job for them is queued).
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/buffer.h"
#include "readmodels/snapshot_store.h"

namespace rill::readmodels {

struct snapshot_job {
  snapshot_store* store = nullptr;
  size_t slot = 0;  // the caller's model index, echoed in the result
  uint64_t seq = 0;
  uint64_t event_fingerprint = 0;
  uint64_t created_ns = 0;
  out_buffer body;
};

struct snapshot_result {
  size_t slot = 0;
  uint64_t seq = 0;
  size_t bytes = 0;
  double seconds = 0;  // time spent writing and syncing
  snapshot_status status = snapshot_status::ok;
  std::string message;
};

class snapshot_writer {
 public:
  snapshot_writer();
  ~snapshot_writer();  // finishes the queued jobs, then joins
  snapshot_writer(const snapshot_writer&) = delete;
  snapshot_writer& operator=(const snapshot_writer&) = delete;

  // Queues a job; false (job untouched) if one for job.slot is in flight.
  bool submit(snapshot_job& job);
  bool busy(size_t slot) const;
  // Completed jobs since the last call (appended to out).
  void finished(std::vector<snapshot_result>& out);
  // Blocks until every queued job is done.
  void wait_idle();

 private:
  void run();
  mutable std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<snapshot_job> queue_;
  std::vector<size_t> in_flight_;
  std::vector<snapshot_result> done_;
  bool stop_ = false;
  bool working_ = false;
  std::thread thread_;
};

}  // namespace rill::readmodels
