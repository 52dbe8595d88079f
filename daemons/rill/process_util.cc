#include "daemons/rill/process_util.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "core/private_dir.h"
#include "transport/server_socket.h"

namespace rill::cli {

namespace fs = std::filesystem;

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  // A zombie still "exists" for kill(); look at its state.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return ::kill(pid, 0) == 0 || errno == EPERM;
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return true;
  char state = line[close + 2];
  if (state != 'Z' && state != 'X') return true;
  // The thread-group leader is a zombie, but a multi-threaded process (every
  // daemon) is not gone until its other threads have exited: until then they
  // hold its files, and with them its pid file's and model lock's flock (a
  // `rill down` that SIGKILLed rill-proj cleared its files too early, and
  // left them, about 1 run in 13 on a loaded host).
  std::error_code ec;
  const std::string self = std::to_string(pid);
  for (fs::directory_iterator it("/proc/" + self + "/task", ec), end; !ec && it != end;
       it.increment(ec))
    if (it->path().filename() != self) return true;
  return false;
}

std::string process_exe_name(pid_t pid) {
  std::error_code ec;
  auto target = fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  if (ec) return {};
  std::string name = target.filename().string();
  const std::string deleted = " (deleted)";
  if (name.size() > deleted.size() &&
      name.compare(name.size() - deleted.size(), deleted.size(), deleted) == 0)
    name.resize(name.size() - deleted.size());
  return name;
}

bool is_daemon_of(pid_t pid, const std::string& exe, const fs::path& data) {
  if (exe.empty() || process_exe_name(pid) != exe) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string a; std::getline(in, a, '\0');) args.push_back(a);
  std::optional<std::string> given;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--data" && i + 1 < args.size())
      given = args[i + 1];
    else if (args[i].starts_with("--data="))
      given = args[i].substr(7);
  }
  if (!given) return false;
  std::error_code ec1, ec2;
  // A relative --data is relative to the daemon's working directory.
  fs::path theirs = *given;
  if (theirs.is_relative()) {
    auto cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec1);
    if (ec1) return false;
    theirs = cwd / theirs;
  }
  const auto a = fs::weakly_canonical(theirs, ec1), b = fs::weakly_canonical(data, ec2);
  return !ec1 && !ec2 && a == b;
}

void clear_run_leftovers(const fs::path& data) {
  std::error_code ec;
  const fs::path run = data / "run";
  for (fs::directory_iterator it(run, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path p = it->path();
    const std::string name = p.filename().string();
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) continue;
    if (S_ISSOCK(st.st_mode)) {
      if (!transport::ipc_socket_answers(p.string())) ::unlink(p.c_str());
      continue;
    }
    const bool daemon_file =
        S_ISREG(st.st_mode) && ((name.starts_with("rill-") && name.ends_with(".pid")) ||
                                (name.starts_with("model.") && name.ends_with(".lock")));
    if (!daemon_file) continue;
    // pid_file holds an flock for as long as its daemon lives.
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(p.c_str());  // unlinked while locked
    ::close(fd);
  }
}

bool wait_gone(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Reap it if it happens to be our child.
    int status = 0;
    (void)::waitpid(pid, &status, WNOHANG);
    if (!process_alive(pid)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::optional<pid_t> read_pid_file(const fs::path& file) {
  auto text = read_file(file);
  if (!text) return std::nullopt;
  long long v = 0;
  size_t i = 0;
  while (i < text->size() && (*text)[i] >= '0' && (*text)[i] <= '9') {
    v = v * 10 + ((*text)[i] - '0');
    if (v > 0x7fffffff) return std::nullopt;
    ++i;
  }
  if (i == 0 || v <= 0) return std::nullopt;
  for (; i < text->size(); ++i)
    if ((*text)[i] != '\n' && (*text)[i] != ' ' && (*text)[i] != '\r') return std::nullopt;
  return static_cast<pid_t>(v);
}

bool write_file_atomic(const fs::path& file, const std::string& text) {
  auto tmp = file;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

bool write_pid_file(const fs::path& file, pid_t pid) {
  return write_file_atomic(file, std::to_string(pid) + "\n");
}

std::optional<std::string> read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail_file(const fs::path& file, size_t lines) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return {};
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > 65536 ? size - 65536 : 0;
  in.seekg(start);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!text.empty() && text.back() == '\n') text.pop_back();
  size_t pos = text.size();
  for (size_t n = 0; n < lines && pos != std::string::npos && pos > 0; ++n)
    pos = text.rfind('\n', pos - 1);
  if (pos == std::string::npos || pos == 0) return text.empty() ? text : text + "\n";
  return text.substr(pos + 1) + "\n";
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* abbrev = ::sigabbrev_np(sig);
    std::string s = "killed by signal " + std::to_string(sig);
    if (abbrev) s += std::string(" (SIG") + abbrev + ")";
    if (WCOREDUMP(status)) s += ", core dumped";
    return s;
  }
  return "ended (status " + std::to_string(status) + ")";
}

bool make_dir(const fs::path& dir, std::string& error) {
  try {
    make_private_dir(dir);
  } catch (const fs::filesystem_error& e) {
    error = "cannot create " + dir.string() + ": " + e.code().message();
    return false;
  }
  return true;
}

uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string format_local_time(uint64_t ns) {
  if (ns == 0) return "-";
  std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string format_utc_ms(uint64_t ns) {
  std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03uZ", static_cast<unsigned>((ns / 1'000'000) % 1000));
  return buf;
}

std::string format_duration(std::chrono::nanoseconds d) {
  long long s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 0) s = 0;
  long long days = s / 86400, hours = (s / 3600) % 24, mins = (s / 60) % 60, secs = s % 60;
  if (days > 0) return std::to_string(days) + "d " + std::to_string(hours) + "h";
  if (hours > 0) return std::to_string(hours) + "h " + std::to_string(mins) + "m";
  if (mins > 0) return std::to_string(mins) + "m " + std::to_string(secs) + "s";
  return std::to_string(secs) + "s";
}

}  // namespace rill::cli
