#include "daemons/rill/supervisor_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string>

namespace rill::cli {

supervisor_log::~supervisor_log() {
  if (fd_ >= 0) ::close(fd_);
}

bool supervisor_log::open(const std::filesystem::path& file, bool mirror_to_stderr) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  mirror_ = mirror_to_stderr;
  return fd_ >= 0;
}

void supervisor_log::line(std::string_view text) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char stamp[40];
  size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03d ", static_cast<int>(ms % 1000));
  std::string out = stamp;
  out.append(text);
  out.push_back('\n');
  if (fd_ >= 0) {
    ssize_t w = ::write(fd_, out.data(), out.size());  // O_APPEND: one write per line
    (void)w;
  }
  if (mirror_) {
    std::string m = "rill: ";
    m.append(text);
    m.push_back('\n');
    ssize_t w = ::write(STDERR_FILENO, m.data(), m.size());
    (void)w;
  }
}

}  // namespace rill::cli
