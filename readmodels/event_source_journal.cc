#include "readmodels/event_source_journal.h"

#include <unistd.h>

#include <system_error>

namespace rill::readmodels {

bool journal_readable(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::is_directory(dir, ec) && ::access(dir.c_str(), R_OK | X_OK) == 0;
}

event_source_journal::event_source_journal(std::filesystem::path dir)
    : dir_(dir), reader_(std::move(dir), store::reader_options{.keep_records = kStableBodies}) {}

source_status event_source_journal::map(store::io_status s, const char* what) {
  switch (s) {
    case store::io_status::ok:
      return source_status::ok;
    case store::io_status::end_of_log:
      return source_status::end;
    case store::io_status::corrupt:
      error_ = std::string("journal ") + dir_.string() + ": corrupt record at seq " +
               std::to_string(reader_.position_seq()) + " (" + what + ")";
      return source_status::corrupt;
    default:
      error_ = std::string("journal ") + dir_.string() + ": " + std::string(store::to_string(s)) +
               " (" + what + ")";
      return source_status::unavailable;
  }
}

source_status event_source_journal::seek(uint64_t seq) {
  if (seq == reader_.position_seq()) return source_status::ok;
  const auto s = reader_.seek(seq);
  return s == store::io_status::end_of_log ? source_status::ok : map(s, "seek");
}

source_status event_source_journal::next(source_event& out) {
  store::record_view r;
  const auto s = reader_.next(r);
  if (s != store::io_status::ok) return map(s, "read");
  out.seq = r.seq;
  out.body = r.body;
  return source_status::ok;
}

source_status event_source_journal::wait_next(source_event& out,
                                              std::chrono::microseconds timeout) {
  store::record_view r;
  const auto s = reader_.wait_next(r, timeout);
  if (s != store::io_status::ok) return map(s, "read");
  out.seq = r.seq;
  out.body = r.body;
  return source_status::ok;
}

}  // namespace rill::readmodels
