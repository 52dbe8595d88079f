#include "readmodels/models/outbox_writer.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace rill::readmodels {
namespace {

std::string errno_text(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

bool fsync_dir(const std::string& dir, std::string& error) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    error = errno_text("cannot open", dir);
    return false;
  }
  const bool ok = ::fsync(fd) == 0;
  if (!ok) error = errno_text("cannot sync", dir);
  ::close(fd);
  return ok;
}

bool write_all(int fd, std::string_view content) {
  while (!content.empty()) {
    const ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    content.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Temp files are ".<name>.<pid>.tmp"; true (and pid set) for such a name.
bool temp_owner(std::string_view name, long& pid) {
  constexpr std::string_view suffix = ".tmp";
  if (name.size() < 7 || name[0] != '.' || !name.ends_with(suffix)) return false;
  name.remove_suffix(suffix.size());
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  const std::string_view digits = name.substr(dot + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  return ec == std::errc() && end == digits.data() + digits.size() && pid > 0;
}

bool make_dir(const std::string& dir, std::string& error) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return true;
  const size_t slash = dir.find_last_of('/');
  if (errno != ENOENT || slash == std::string::npos || slash == 0) {
    error = errno_text("cannot create", dir);
    return false;
  }
  if (!make_dir(dir.substr(0, slash), error)) return false;
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return true;
  error = errno_text("cannot create", dir);
  return false;
}

}  // namespace

bool prepare_dir(const std::string& dir, bool sync, std::string& error) {
  error.clear();
  if (!make_dir(dir, error)) return false;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = "not a directory: " + dir;
    return false;
  }
  if (sync) {
    const size_t slash = dir.find_last_of('/');
    if (slash != std::string::npos && slash != 0 && !fsync_dir(dir.substr(0, slash), error))
      return false;
  }
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    error = errno_text("cannot read", dir);
    return false;
  }
  const long self = static_cast<long>(::getpid());
  while (const dirent* entry = ::readdir(d)) {
    long pid = 0;
    if (!temp_owner(entry->d_name, pid)) continue;
    const bool alive = pid != self && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
    if (!alive) ::unlinkat(::dirfd(d), entry->d_name, 0);
  }
  ::closedir(d);
  return true;
}

write_result write_once(const std::string& dir, const std::string& name, std::string_view content,
                        bool sync, std::string& error) {
  const std::string final_path = dir + "/" + name;
  struct stat st {};
  if (::lstat(final_path.c_str(), &st) == 0) return write_result::existed;
  if (errno != ENOENT) {
    error = errno_text("cannot check", final_path);
    return write_result::error;
  }
  const std::string temp_path =
      dir + "/." + name + "." + std::to_string(static_cast<long>(::getpid())) + ".tmp";
  const int fd =
      ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    error = errno_text("cannot create", temp_path);
    return write_result::error;
  }
  bool ok = write_all(fd, content);
  if (!ok) error = errno_text("cannot write", temp_path);
  if (ok && sync && ::fsync(fd) != 0) {
    error = errno_text("cannot sync", temp_path);
    ok = false;
  }
  if (::close(fd) != 0 && ok) {
    error = errno_text("cannot close", temp_path);
    ok = false;
  }
  if (!ok) {
    ::unlink(temp_path.c_str());
    return write_result::error;
  }
  const bool linked = ::link(temp_path.c_str(), final_path.c_str()) == 0;
  const int link_errno = errno;
  ::unlink(temp_path.c_str());
  if (!linked) {
    if (link_errno == EEXIST) return write_result::existed;
    errno = link_errno;
    error = errno_text("cannot link", final_path);
    return write_result::error;
  }
  if (sync && !fsync_dir(dir, error)) {
    // The file is in place; only its directory entry may not be durable yet.
    // Report it so the caller retries (the retry finds the file: existed).
    ::unlink(final_path.c_str());
    return write_result::error;
  }
  return write_result::written;
}

}  // namespace rill::readmodels
