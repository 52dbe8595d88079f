#pragma once
// Test support for the `rill` CLI tests: run the rill binary with arguments
// and capture its exit status, stdout and stderr (bounded in time, killed by
// pid on timeout), and a live rill (`rill up --detach`) on a temp directory
// that is brought down and removed afterwards. Header-only.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "store/journal_format.h"
#include "store/journal_writer.h"
#include "tests/support/child_process.h"
#include "tests/support/small_journal.h"

namespace rill::test {

// A free tcp:// endpoint on 127.0.0.1 (bound once and closed again).
inline std::string free_tcp_endpoint() {
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::router);
  s.bind("tcp://127.0.0.1:*");
  return s.get(zmq::sockopt::last_endpoint);
}

inline std::string rill_bin() {
  return std::string(RILL_BIN_DIR) + "/rill";
}

struct run_result {
  int code = -1;  // exit status; 128 + signal if killed
  std::string out, err;
  bool timed_out = false;
};

struct run_options {
  std::chrono::milliseconds timeout{60000};
  std::string cwd;                         // empty: inherit
  std::map<std::string, std::string> env;  // extra variables ("" value: unset)
  std::string input;                       // stdin
  std::string program;                     // default: rill
  uid_t as_user = 0;                       // > 0: run as this uid (and gid), which needs root
};

// Runs `program args...` to completion. Output is collected through pipes
// while it runs (no deadlock on large outputs).
inline run_result run_program(const std::vector<std::string>& args, const run_options& o = {}) {
  run_result r;
  int out_p[2], err_p[2], in_p[2];
  if (::pipe2(out_p, O_CLOEXEC) || ::pipe2(err_p, O_CLOEXEC) || ::pipe2(in_p, O_CLOEXEC)) return r;
  std::vector<std::string> argv_s;
  argv_s.push_back(o.program.empty() ? rill_bin() : o.program);
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_p[0], 0);
    ::dup2(out_p[1], 1);
    ::dup2(err_p[1], 2);
    if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) ::_exit(126);
    if (o.as_user > 0 &&
        (::setgroups(0, nullptr) != 0 || ::setgid(o.as_user) != 0 || ::setuid(o.as_user) != 0))
      ::_exit(126);
    for (const auto& [k, v] : o.env) {
      if (v.empty())
        ::unsetenv(k.c_str());
      else
        ::setenv(k.c_str(), v.c_str(), 1);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in_p[0]);
  ::close(out_p[1]);
  ::close(err_p[1]);
  if (!o.input.empty()) {
    ssize_t n = ::write(in_p[1], o.input.data(), o.input.size());
    (void)n;
  }
  ::close(in_p[1]);
  const auto deadline = std::chrono::steady_clock::now() + o.timeout;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd fds[2] = {{out_open ? out_p[0] : -1, POLLIN, 0}, {err_open ? err_p[0] : -1, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(std::min<long long>(left.count(), 200))) <= 0) continue;
    char buf[4096];
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0)
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      else
        (i == 0 ? out_open : err_open) = false;
    }
  }
  ::close(out_p[0]);
  ::close(err_p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

inline run_result run_rill(const std::vector<std::string>& args, const run_options& o = {}) {
  return run_program(args, o);
}

// Lines of a text, without empty ones.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    if (nl > pos) out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

inline nlohmann::json parse_json(const std::string& text) {
  return nlohmann::json::parse(text, nullptr, false);
}

inline std::optional<pid_t> pid_in(const std::filesystem::path& file) {
  FILE* f = std::fopen(file.c_str(), "r");
  if (!f) return std::nullopt;
  long v = 0;
  int n = std::fscanf(f, "%ld", &v);
  std::fclose(f);
  if (n != 1 || v <= 0) return std::nullopt;
  return static_cast<pid_t>(v);
}

// A rill started with `rill up --detach` on its own temp directory; brought
// down (and, should that fail, its supervisor killed by pid) on destruction.
class live_rill {
 public:
  explicit live_rill(const std::vector<std::string>& extra = {}) : dir_("rcli") {
    std::vector<std::string> args = {"up",           "--detach", "--data", data().string(),
                                     "--timeout-ms", "60000"};
    args.insert(args.end(), extra.begin(), extra.end());
    up_ = run_rill(args, {.timeout = std::chrono::milliseconds(90000)});
    supervisor_ = pid_in(data() / "run" / "rill.pid").value_or(0);
  }
  ~live_rill() { stop(); }
  live_rill(const live_rill&) = delete;
  live_rill& operator=(const live_rill&) = delete;

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    auto r = run_rill({"down", "--data", data().string()},
                      {.timeout = std::chrono::milliseconds(90000)});
    if (r.code != 0 && supervisor_ > 0)
      ::kill(supervisor_, SIGKILL);  // the daemons follow (PDEATHSIG)
  }
  const std::filesystem::path& data() const { return dir_.path(); }
  const run_result& up() const { return up_; }
  bool ok() const { return up_.code == 0; }
  pid_t supervisor() const { return supervisor_; }
  std::vector<std::string> with_data(std::vector<std::string> args) const {
    args.push_back("--data");
    args.push_back(data().string());
    return args;
  }
  // For a failure message: `rill status --json` and the last lines of every
  // log in D/logs (restarts, crashes, what a daemon said).
  std::string diagnostics(size_t lines = 15) const {
    std::string out = "rill status: " + run_rill(with_data({"status", "--json"})).out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(data() / "logs", ec)) {
      std::ifstream in(e.path());
      std::deque<std::string> tail;
      for (std::string l; std::getline(in, l);) {
        tail.push_back(std::move(l));
        if (tail.size() > lines) tail.pop_front();
      }
      out += "--- " + e.path().filename().string() + "\n";
      for (const auto& l : tail) out += l + "\n";
    }
    return out;
  }

 private:
  temp_dir dir_;
  run_result up_;
  pid_t supervisor_ = 0;
  bool stopped_ = false;
};

// Writes `events` CUSTOMER_CREATED events (seq 1.., ids c1..) to a fresh
// journal in `dir` with 64 KiB segments, flushed; appends each body's size
// to `sizes` (for record_offset).
inline void write_customer_journal(const std::filesystem::path& dir, uint64_t events,
                                   std::vector<size_t>& sizes) {
  auto w = rill::test::open_small_journal(dir);
  ASSERT_TRUE(w);
  for (uint64_t seq = 1; seq <= events; ++seq) {
    nlohmann::json ev = {
        {"seq", seq},
        {"ts", 1'700'000'000'000'000'000ull + seq},
        {"type", "CUSTOMER_CREATED"},
        {"agg", "customer"},
        {"id", "c" + std::to_string(seq)},
        {"ver", 1},
        {"data", {{"name", "Customer " + std::to_string(seq)}, {"email", "c@example.com"}}}};
    auto bytes = nlohmann::json::to_msgpack(ev);
    sizes.push_back(bytes.size());
    ASSERT_EQ(w->append(seq, {reinterpret_cast<const char*>(bytes.data()), bytes.size()}),
              store::io_status::ok);
    w->publish();
  }
  ASSERT_EQ(w->flush(), store::io_status::ok);
}

// File offset of record `seq` in the first segment of such a journal.
inline uint64_t record_offset(const std::vector<size_t>& sizes, uint64_t seq) {
  uint64_t off = store::format::kHeaderSize;
  for (uint64_t s = 1; s < seq; ++s) off += store::format::record_size(sizes[s - 1]);
  return off;
}

}  // namespace rill::test
