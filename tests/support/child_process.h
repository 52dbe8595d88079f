#pragma once
// Test support: start a daemon as a child process, stop it by pid, and make
// a temporary data directory that is removed afterwards. Header-only.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace rill::test {

// A temporary directory, removed with everything in it on destruction.
class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix = "rill-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A child process running `argv`, stdout/stderr to `log` (or inherited when
// empty). Killed with SIGKILL on destruction if still running.
class child_process {
 public:
  child_process() = default;
  child_process(const std::vector<std::string>& argv, const std::string& log = "") { start(argv, log); }
  ~child_process() { kill(SIGKILL); }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  child_process(child_process&& o) noexcept : pid_(std::exchange(o.pid_, -1)), status_(o.status_) {}

  void start(const std::vector<std::string>& argv, const std::string& log = "") {
    pid_ = ::fork();
    if (pid_ == 0) {
      if (!log.empty()) {
        FILE* f = std::fopen(log.c_str(), "a");
        if (f) {
          ::dup2(fileno(f), 1);
          ::dup2(fileno(f), 2);
        }
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  pid_t pid() const { return pid_; }
  // A child found exited is reaped here and its pid forgotten: its number may
  // be given to another process (pid_max is 32768 on the CI machine), which a
  // later signal() or the destructor's SIGKILL must never reach.
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
    pid_ = -1;
    status_ = status;
    return false;
  }
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // Sends sig and waits for the exit; returns the wait status (-1 if none;
  // the status running() saw if it reaped the child).
  int kill(int sig = SIGTERM, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (pid_ <= 0) return std::exchange(status_, -1);
    ::kill(pid_, sig);
    int status = -1;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
    return status;
  }
  // Waits for the child to exit by itself; returns its wait status.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    if (pid_ <= 0) return std::exchange(status_, -1);
    int status = -1;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) return kill(SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int status_ = -1;  // the wait status running() reaped
};

// Waits until pred() is true or the timeout passes; returns pred().
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace rill::test
