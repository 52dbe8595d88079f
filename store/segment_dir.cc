#include "store/segment_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "store/journal_format.h"

namespace rill::store {

io_status list_segments(const std::filesystem::path& dir, std::vector<uint32_t>& out,
                        std::string& error) {
  out.clear();
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return io_status::ok;
    error = "cannot list " + dir.string() + ": " + ec.message();
    return io_status::io_error;
  }
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    uint32_t idx = format::parse_segment_file_name(it->path().filename().native());
    if (idx != 0) out.push_back(idx);
  }
  if (ec) {
    error = "cannot list " + dir.string() + ": " + ec.message();
    return io_status::io_error;
  }
  std::sort(out.begin(), out.end());
  return io_status::ok;
}

io_status remove_temp_files(const std::filesystem::path& dir, std::string& error) {
  std::error_code ec;
  std::vector<std::filesystem::path> stray;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().native();
    if (name.starts_with("seg-") && name.ends_with(format::kTempSuffix)) stray.push_back(it->path());
  }
  if (ec) {
    error = "cannot list " + dir.string() + ": " + ec.message();
    return io_status::io_error;
  }
  for (const auto& p : stray) {
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
      error = "cannot remove " + p.string() + ": " + std::strerror(errno);
      return io_status::io_error;
    }
  }
  if (!stray.empty()) return sync_directory(dir, error);
  return io_status::ok;
}

io_status sync_directory(const std::filesystem::path& dir, std::string& error) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open " + dir.string() + ": " + std::strerror(errno);
    return io_status::io_error;
  }
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    error = "cannot sync " + dir.string() + ": " + std::strerror(err);
    return io_status::io_error;
  }
  return io_status::ok;
}

io_status ensure_directory(const std::filesystem::path& dir, std::string& error) {
  if (dir.empty()) {
    error = "journal directory not set";
    return io_status::invalid_argument;
  }
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return io_status::ok;
  std::filesystem::path parent = dir.parent_path();
  if (!parent.empty()) {
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      error = "cannot create " + parent.string() + ": " + ec.message();
      return io_status::io_error;
    }
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    error = "cannot create " + dir.string() + ": " + std::strerror(errno);
    return io_status::io_error;
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    error = dir.string() + " is not a directory";
    return io_status::io_error;
  }
  return io_status::ok;
}

}  // namespace rill::store
