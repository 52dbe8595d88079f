#include "store/journal_verify.h"

#include "store/journal_format.h"
#include "store/journal_scan.h"

namespace rill::store {

verify_report verify_journal(const std::filesystem::path& dir) {
  verify_report v;
  // On a live journal the writer appends and rolls while the scan reads, so
  // one scan can see a word before it was stored and the records after it
  // once they were (or miss a file created since the listing). Damage stays
  // where it is; a race moves on. So a corrupt verdict is reported only when
  // a second scan finds it at the same place.
  scan_result scan = scan_journal(dir);
  for (int tries = 0; scan.status == io_status::corrupt && tries < 5; ++tries) {
    scan_result again = scan_journal(dir);
    const bool same = again.status == io_status::corrupt &&
                      again.corrupt_segment == scan.corrupt_segment &&
                      again.corrupt_offset == scan.corrupt_offset;
    scan = std::move(again);
    if (same) break;
  }
  v.status = scan.status;
  v.first_seq = scan.first_seq;
  v.head = scan.head;
  v.records = scan.records;
  v.segments = scan.segments;
  v.bytes = scan.bytes;
  v.torn_tail_bytes = scan.dropped_bytes;
  v.reason = scan.reason;
  if (scan.status == io_status::io_error) {
    v.message = "cannot read journal " + dir.string() + ": " + scan.reason;
    return v;
  }
  std::string m = std::to_string(scan.records) + " records";
  if (scan.records) m += " (seq " + std::to_string(scan.first_seq) + ".." + std::to_string(scan.head) + ")";
  m += " in " + std::to_string(scan.segments) + " segment file(s)";
  if (scan.status == io_status::corrupt) {
    v.corrupt_segment = scan.corrupt_segment;
    v.corrupt_offset = scan.corrupt_offset;
    v.corrupt_seq = scan.corrupt_seq;
    v.message = "CORRUPT at segment " + format::segment_file_name(scan.corrupt_segment) + " offset " +
                std::to_string(scan.corrupt_offset) + " seq " + std::to_string(scan.corrupt_seq) +
                ": " + scan.reason + " (" + m + " before it)";
    return v;
  }
  v.message = "ok: " + m;
  if (scan.dropped_bytes) {
    v.message += "; torn tail of " + std::to_string(scan.dropped_bytes) +
                 " bytes would be dropped at open";
  }
  if (!scan.tail_note.empty()) v.message += " (" + scan.tail_note + ")";
  return v;
}

}  // namespace rill::store
