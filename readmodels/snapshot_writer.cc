#include "readmodels/snapshot_writer.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace rill::readmodels {

snapshot_writer::snapshot_writer() {
  thread_ = std::thread([this] { run(); });
}

snapshot_writer::~snapshot_writer() {
  reap(true);  // a snapshot being written is finished, not abandoned
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool snapshot_writer::busy(size_t slot) const {
  for (const auto& c : children_)
    if (c.slot == slot) return true;
  std::lock_guard<std::mutex> lock(mu_);
  return std::find(in_flight_.begin(), in_flight_.end(), slot) != in_flight_.end();
}

namespace {

// The child's report on its pipe: status, body bytes, message.
struct child_report {
  uint8_t status = 0;
  uint64_t bytes = 0;
};

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

bool snapshot_writer::submit_forked(size_t slot, snapshot_store& store, const read_model& model,
                                    uint64_t seq, uint64_t event_fingerprint, uint64_t created_ns) {
  if (busy(slot)) return false;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return false;
  }
  if (pid == 0) {
    // Child: only this thread exists. Drop every inherited descriptor but
    // the pipe (the pid file's lock, sockets): a child outliving a killed
    // parent must not hold them. Then serialise, write, report, _exit.
    const int out = fds[1];
    if (out > 3) ::close_range(3, static_cast<unsigned>(out) - 1, 0);
    ::close_range(static_cast<unsigned>(out) + 1, ~0u, 0);
    child_report rep;
    std::string message;
    snapshot_status st = snapshot_status::io_error;
    try {
      out_buffer body;
      model.save(body);
      rep.bytes = body.size();
      st = store.write(seq, event_fingerprint, created_ns, body.span(), message);
    } catch (const std::exception& e) {
      message = std::string("save() threw: ") + e.what();
    } catch (...) {
      message = "save() threw";
    }
    rep.status = static_cast<uint8_t>(st);
    write_all(out, reinterpret_cast<const char*>(&rep), sizeof rep);
    write_all(out, message.data(), std::min<size_t>(message.size(), 4000));
    ::_exit(st == snapshot_status::ok ? 0 : 1);
  }
  ::close(fds[1]);
  children_.push_back(child{pid, fds[0], slot, seq, std::chrono::steady_clock::now()});
  return true;
}

void snapshot_writer::reap(bool wait) {
  if (wait) {
    // Until every child has ended; one still running kStopWait from now is
    // killed (a stop must not hang on a stuck child).
    const auto give_up = std::chrono::steady_clock::now() + kStopWait;
    for (reap(false); !children_.empty(); reap(false)) {
      if (std::chrono::steady_clock::now() > give_up)
        for (const auto& c : children_) ::kill(c.pid, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return;
  }
  for (size_t i = 0; i < children_.size();) {
    child& c = children_[i];
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(c.pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
      // A child that has not finished in kChildLimit is stuck (it should
      // take seconds): killed, and reported like any failed snapshot.
      if (std::chrono::steady_clock::now() - c.started > kChildLimit) ::kill(c.pid, SIGKILL);
      ++i;
      continue;
    }
    snapshot_result res;
    res.slot = c.slot;
    res.seq = c.seq;
    res.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - c.started).count();
    child_report rep;
    std::string text(sizeof rep + 4000, '\0');
    size_t got = 0;
    for (;;) {
      const ssize_t n = ::read(c.pipe, text.data() + got, text.size() - got);
      if (n > 0) {
        got += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    ::close(c.pipe);
    if (got >= sizeof rep) {
      std::memcpy(&rep, text.data(), sizeof rep);
      res.status = static_cast<snapshot_status>(rep.status);
      res.bytes = rep.bytes;
      res.message = text.substr(sizeof rep, got - sizeof rep);
    } else {
      res.status = snapshot_status::io_error;
      res.message =
          "the snapshot process ended without a report (status " + std::to_string(status) + ")";
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_.push_back(std::move(res));
    }
    children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(i));
  }
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
  reap(false);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& r : done_) out.push_back(std::move(r));
  done_.clear();
}

void snapshot_writer::wait_idle() {
  reap(true);
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
