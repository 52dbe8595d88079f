#pragma once
// Test helpers for the transport classes that read a journal: a private
// temporary directory and a writer with small segments.
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "store/journal_writer.h"

namespace rill::transport::testing {

// A private temporary directory, removed with everything in it.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string t = (std::filesystem::temp_directory_path() / "rill-transport-XXXXXX").string();
    if (::mkdtemp(t.data()) == nullptr) std::abort();
    path = t;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

// A journal writer with 64 KiB segments (readers cross several) and no
// prefaulter; null (and a test failure) if it cannot open.
inline std::unique_ptr<store::journal_writer> open_small_journal(const std::filesystem::path& dir) {
  store::journal_options o;
  o.dir = dir;
  o.segment_size = 64 << 10;
  o.prefault_ahead = 0;
  store::recovery_report rep;
  auto w = store::journal_writer::open(o, rep);
  EXPECT_TRUE(w) << rep.message;
  return w;
}

}  // namespace rill::transport::testing
