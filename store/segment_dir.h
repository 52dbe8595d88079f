#pragma once
// Helpers for the journal directory: listing segment files, removing stray
// temporary files, fsyncing the directory. Stateless; thread-safe.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "store/status.h"

namespace rill::store {

// Indices of the seg-*.rjl files in dir, ascending. A missing dir yields an
// empty list and ok; an unreadable one io_error.
io_status list_segments(const std::filesystem::path& dir, std::vector<uint32_t>& out,
                        std::string& error);

// Removes seg-*.rjl.tmp files left by an interrupted segment creation.
io_status remove_temp_files(const std::filesystem::path& dir, std::string& error);

// fsync of the directory itself (makes created/renamed/removed names durable).
io_status sync_directory(const std::filesystem::path& dir, std::string& error);

// Creates dir (and missing parents); the last component gets mode 0700.
io_status ensure_directory(const std::filesystem::path& dir, std::string& error);

}  // namespace rill::store
