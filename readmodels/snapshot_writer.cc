#include "readmodels/snapshot_writer.h"

#include <algorithm>
#include <chrono>

namespace rill::readmodels {

snapshot_writer::snapshot_writer() {
  thread_ = std::thread([this] { run(); });
}

snapshot_writer::~snapshot_writer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool snapshot_writer::busy(size_t slot) const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::find(in_flight_.begin(), in_flight_.end(), slot) != in_flight_.end();
}

bool snapshot_writer::submit(snapshot_job& job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (std::find(in_flight_.begin(), in_flight_.end(), job.slot) != in_flight_.end()) return false;
    in_flight_.push_back(job.slot);
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void snapshot_writer::finished(std::vector<snapshot_result>& out) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& r : done_) out.push_back(std::move(r));
  done_.clear();
}

void snapshot_writer::wait_idle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] { return queue_.empty() && !working_; });
}

void snapshot_writer::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) {
      if (stop_) return;
      continue;
    }
    snapshot_job job = std::move(queue_.front());
    queue_.pop_front();
    working_ = true;
    lock.unlock();

    snapshot_result r;
    r.slot = job.slot;
    r.seq = job.seq;
    r.bytes = job.body.size();
    const auto t0 = std::chrono::steady_clock::now();
    r.status = job.store->write(job.seq, job.event_fingerprint, job.created_ns, job.body.span(),
                                r.message);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    job.body = out_buffer();  // free the memory before taking the lock

    lock.lock();
    working_ = false;
    in_flight_.erase(std::remove(in_flight_.begin(), in_flight_.end(), r.slot), in_flight_.end());
    done_.push_back(std::move(r));
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace rill::readmodels
