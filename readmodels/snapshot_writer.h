#pragma once
// snapshot_writer: writes snapshots on a background thread, so that the
// projector thread only pays for read_model::save() (serialising into
// memory), never for the disk (write, fdatasync, rename, directory fsync).
//
// One job per model at a time: submit() refuses a job for a model whose
// previous snapshot is still being written. finished() hands back the
// outcome of completed jobs.
//
// submit_forked() goes further: the projector thread does not even pay for
// save(). It forks; the child (a copy-on-write image of the process, only
// this thread in it) serialises the model, writes the snapshot through the
// store and reports back on a pipe; the parent goes on at once. save() of a
// 40 MB top_customers state took 125-254 ms, and every query of the model
// waited that long at each snapshot (an outside probe saw 200-300 ms stalls
// at every rebuild's hand-over). finished() reaps the children.
//
// Ownership: owns its thread and the queued bodies; borrows the
// snapshot_stores, which must outlive it. Thread-safety: submit(),
// finished(), busy(), wait_idle() from the projector thread; the thread only
// touches the stores of the jobs it runs (and the stores are not used by
// anyone else while a job for them is queued).
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/buffer.h"
#include "readmodels/read_model.h"
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
  // Snapshots `model` in a child process (see above); false if a job for
  // `slot` is in flight or fork() failed (then the caller saves in process).
  // `model` and `store` are only read by the child, in its own copy.
  bool submit_forked(size_t slot, snapshot_store& store, const read_model& model, uint64_t seq,
                     uint64_t event_fingerprint, uint64_t created_ns);
  bool busy(size_t slot) const;
  // Completed jobs since the last call (appended to out).
  void finished(std::vector<snapshot_result>& out);
  // A snapshot child still running after this long is killed.
  static constexpr std::chrono::minutes kChildLimit{10};
  // wait_idle() and the destructor wait this long for children, then kill them.
  static constexpr std::chrono::seconds kStopWait{60};
  // Blocks until every queued job (and every child) is done.
  void wait_idle();

 private:
  struct child {
    pid_t pid = -1;
    int pipe = -1;  // read end: the child's report
    size_t slot = 0;
    uint64_t seq = 0;
    std::chrono::steady_clock::time_point started;
  };
  void run();
  // Reaps the children that have exited (all of them, waiting, with `wait`).
  void reap(bool wait);
  mutable std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<snapshot_job> queue_;
  std::vector<size_t> in_flight_;
  std::vector<snapshot_result> done_;
  bool stop_ = false;
  bool working_ = false;
  std::thread thread_;
  std::vector<child> children_;  // the projector thread only
};

}  // namespace rill::readmodels
