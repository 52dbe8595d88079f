#pragma once
// load_report: the outcome of a `rill load` run, as JSON (--json) and as a
// table for people, and the SVG plot (--plot): the latency percentile
// curve(s) on a 1/(1-p) log axis and the commands acknowledged per second.
//
// Thread-safety: plain data and functions; built after every thread ended.
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemons/rill/load_config.h"
#include "daemons/rill/load_histogram.h"

namespace rill::cli {

struct load_report {
  load_config config;
  std::string run_tag;
  // The start to the last reply; a --duration run counts its whole duration
  // (an open loop at a low rate sends its last command well before the end).
  double elapsed_s = 0;
  uint64_t requests = 0, replies = 0, ok = 0, failed = 0, lost = 0, malformed = 0;
  uint64_t late = 0;          // replies that came after their request was given up
  uint64_t window_waits = 0;  // open loop: sends held back by a full window
  uint64_t unsent = 0;        // open loop: sends due before the end that never went out
  bool interrupted = false;   // stopped by SIGINT or SIGTERM before its end
  std::map<std::string, uint64_t, std::less<>> errors;
  latency_histogram latency;     // acknowledgement round trip, per request
  latency_histogram send_lag;    // open loop: actual - intended send time, per request
  std::optional<latency_histogram> visible;  // command -> event on the feed
  uint64_t visible_expected = 0;
  std::optional<latency_histogram> visible_journal;  // command -> event read from the journal
  std::optional<latency_histogram> after;    // command -> model answers `after`
  uint64_t after_timeouts = 0;
  uint64_t after_commands = 0;  // the probe's own commands, acknowledged (not in `ok`)
  std::optional<latency_histogram> notified;  // command -> `changed` note at a watcher
  uint64_t notified_expected = 0;  // acknowledged requests measured
  uint64_t notified_missing = 0;   // of which no note covered
  uint64_t notified_notes = 0, notified_resyncs = 0;  // notes received; resync notes among them
  std::vector<double> per_second;            // commands acknowledged in each second
  std::string fatal;

  double throughput() const { return elapsed_s > 0 ? static_cast<double>(ok + failed) / elapsed_s : 0; }
};

// {"count", "min", "mean", "p50", "p90", "p99", "p999", "max"} in microseconds.
nlohmann::json latency_json(const latency_histogram& h);
nlohmann::json report_json(const load_report& r);
void print_report(std::ostream& out, const load_report& r);
// Writes the SVG; false with a message on I/O error.
bool write_plot(const std::string& file, const load_report& r, std::string& error);
// The SVG text itself.
std::string plot_svg(const load_report& r);

}  // namespace rill::cli
