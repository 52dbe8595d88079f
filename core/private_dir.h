#pragma once
// make_private_dir: the one way rill creates a directory that holds private
// data or sockets (D, D/run, an ipc:// endpoint's folder).
//
// A missing directory is created with mode 0700, and so is each missing
// parent (with umask 0 they were world-writable, just above D). An existing
// directory is left as it is: the path may be one
// the user gave (`--data /tmp`, `ipc:///tmp/x.sock`), and changing the mode
// of /tmp, /run or a home directory would break the host for everyone else.
// Throws std::filesystem::filesystem_error when the path cannot be created or
// is not a directory.
#include <filesystem>

namespace rill {

void make_private_dir(const std::filesystem::path& dir);

}  // namespace rill
