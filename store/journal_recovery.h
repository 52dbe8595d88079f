#pragma once
// Applying what journal_scan decided: zeroing a dropped tail, fixing header
// first-seq fields, removing empty segment files beyond the end. Run by
// journal_writer::open() while it holds the directory lock. Every change is
// made durable (fdatasync / directory fsync) before it returns, so a power
// cut cannot bring dropped bytes back after new records were written.
// Stateless; not safe against a concurrent writer (hence the lock).
#include <filesystem>
#include <string>

#include "store/journal_scan.h"
#include "store/recovery_report.h"
#include "store/status.h"

namespace rill::store {

[[nodiscard]] io_status apply_repairs(const std::filesystem::path& dir, const scan_result& scan,
                                      std::string& error);

// Fills report from a scan (and the message line). Thread-safe.
void fill_report(const scan_result& scan, recovery_report& report);

}  // namespace rill::store
