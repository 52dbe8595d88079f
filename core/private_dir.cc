#include "core/private_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <system_error>

namespace rill {

void make_private_dir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  const auto not_a_dir = [&] {
    throw fs::filesystem_error("not a directory", dir,
                               std::make_error_code(std::errc::not_a_directory));
  };
  if (fs::exists(fs::symlink_status(dir, ec))) not_a_dir();
  const fs::path parent = dir.parent_path();
  if (!parent.empty() && parent != dir) make_private_dir(parent);  // missing parents 0700 too
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw fs::filesystem_error("cannot create directory", dir,
                               std::error_code(errno, std::generic_category()));
  }
  if (!fs::is_directory(dir, ec)) not_a_dir();
}

}  // namespace rill
