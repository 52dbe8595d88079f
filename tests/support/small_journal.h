#pragma once
// A journal writer for tests: 64 KiB segments (readers cross several) and no
// prefaulter thread.
#include <filesystem>
#include <memory>

#include <gtest/gtest.h>

#include "store/journal_writer.h"

namespace rill::test {

// Null (and a test failure) if the journal cannot be opened.
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

}  // namespace rill::test
