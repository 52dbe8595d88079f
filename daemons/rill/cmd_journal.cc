// rill journal verify|dump|truncate: offline access to the journal (works with rill stopped).
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "core/index_checkpoint.h"
#include "daemons/rill/commands.h"
#include "daemons/rill/event_text.h"
#include "daemons/rill/process_util.h"
#include "daemons/rill/run_lock.h"
#include "readmodels/snapshot_format.h"
#include "store/journal_format.h"
#include "store/journal_reader.h"
#include "store/journal_truncate.h"
#include "store/journal_verify.h"

namespace rill::cli {

namespace {

struct dump_flags {
  uint64_t from = 1;
  uint64_t to = 0;  // 0: to the end
};

struct truncate_flags {
  uint64_t after = 0;
  bool yes = false;
  bool dry_run = false;
};

std::filesystem::path journal_dir(const global_options& g) {
  return g.data_dir() / "journal";
}

int report_corruption(const std::filesystem::path& dir, const store::verify_report& r) {
  return report("corrupt",
                (dir / store::format::segment_file_name(r.corrupt_segment)).string() + " offset " +
                    std::to_string(r.corrupt_offset) + " (seq " + std::to_string(r.corrupt_seq) +
                    "): " + r.reason + "; events up to seq " + std::to_string(r.head) +
                    " are sound",
                exit_refused);
}

int run_verify(global_options& g) {
  const auto dir = journal_dir(g);
  std::error_code ec;
  if (auto why = data_dir_denied(g.data_dir(), "journal"); !why.empty())
    return report("forbidden", why, exit_refused);
  if (!std::filesystem::is_directory(dir, ec))
    return report("not_found", "no journal at " + dir.string(), exit_refused);
  const auto r = store::verify_journal(dir);
  const std::string segment =
      r.corrupt_segment ? store::format::segment_file_name(r.corrupt_segment) : std::string();
  if (g.json) {
    nlohmann::json j = {{"ok", r.status == store::io_status::ok},
                        {"status", std::string(store::to_string(r.status))},
                        {"journal", dir.string()},
                        {"first_seq", r.first_seq},
                        {"head", r.head},
                        {"records", r.records},
                        {"segments", r.segments},
                        {"bytes", r.bytes},
                        {"torn_tail_bytes", r.torn_tail_bytes},
                        {"message", r.message}};
    if (r.status == store::io_status::corrupt)
      j["corruption"] = {{"segment", r.corrupt_segment},
                         {"file", (dir / segment).string()},
                         {"offset", r.corrupt_offset},
                         {"seq", r.corrupt_seq},
                         {"reason", r.reason}};
    std::cout << j.dump() << std::endl;
  }
  switch (r.status) {
    case store::io_status::ok:
      if (!g.json) {
        std::cout << "journal " << dir.string() << ": OK, " << r.records << " events";
        if (r.records > 0) std::cout << " (seq " << r.first_seq << ".." << r.head << ")";
        std::cout << " in " << r.segments << (r.segments == 1 ? " segment, " : " segments, ")
                  << r.bytes << " bytes";
        if (r.torn_tail_bytes > 0)
          std::cout << "; a torn tail of " << r.torn_tail_bytes
                    << " bytes (dropped at the next start)";
        std::cout << std::endl;
      }
      return exit_ok;
    case store::io_status::corrupt:
      return report_corruption(dir, r);
    default:
      return report(std::string(store::to_string(r.status)),
                    r.message.empty() ? "cannot read " + dir.string() : r.message, exit_refused);
  }
}

int run_dump(global_options& g, const dump_flags& f) {
  if (f.to != 0 && f.to < f.from) return usage_error("journal dump", "--to must be >= --from");
  const auto dir = journal_dir(g);
  std::error_code ec;
  if (auto why = data_dir_denied(g.data_dir(), "journal"); !why.empty())
    return report("forbidden", why, exit_refused);
  if (!std::filesystem::is_directory(dir, ec))
    return report("not_found", "no journal at " + dir.string(), exit_refused);
  store::reader_options ro;
  ro.allow_short_segments = true;  // a file cut short holds sound records before the cut
  store::journal_reader reader(dir, ro);
  if (auto s = reader.seek(f.from); s != store::io_status::ok) {
    // Damage on the way to --from: the same verdict as `journal verify`,
    // with the position and the sound range (it said "cannot seek" only).
    if (s == store::io_status::corrupt) {
      const auto v = store::verify_journal(dir);
      if (v.status == store::io_status::corrupt) return report_corruption(dir, v);
    }
    return report(std::string(store::to_string(s)),
                  "cannot seek to seq " + std::to_string(f.from) + " in " + dir.string(),
                  exit_refused);
  }
  // Without --to, the dump ends at the head it saw at its start, as `tail
  // --no-follow` does: under a steady load it followed the growing end and
  // never finished (an outside probe).
  const uint64_t head_at_start = f.to == 0 ? reader.last_seq() : 0;
  store::record_view rec;
  for (;;) {
    auto s = reader.next(rec);
    // Only a sound record past it ends the dump there: damage or the end
    // of the log right after it is still reported below.
    if (s == store::io_status::ok && f.to == 0 && head_at_start != 0 && rec.seq > head_at_start)
      break;
    if (s == store::io_status::end_of_log) {
      // The log ends here for a reader; `journal verify` also knows of what
      // lies beyond (a missing segment file with later ones after it), which
      // must not pass for the end of the journal.
      std::cout.flush();
      const auto v = store::verify_journal(dir);
      if (v.status == store::io_status::corrupt) return report_corruption(dir, v);
      break;
    }
    if (s == store::io_status::corrupt) {
      // The same verdict as `journal verify`: a bad last record is a torn
      // tail (a write cut short; rill-core drops it at its next start), not
      // corruption, and the dump of everything before it succeeds.
      std::cout.flush();
      const auto v = store::verify_journal(dir);
      if (v.status == store::io_status::ok && v.torn_tail_bytes > 0 &&
          v.head < reader.position_seq()) {
        std::cerr << "rill: note: the journal ends with a torn tail of " << v.torn_tail_bytes
                  << " bytes after seq " << v.head << " (dropped at the next start)" << std::endl;
        break;
      }
      if (v.status == store::io_status::corrupt) return report_corruption(dir, v);
    }
    if (s != store::io_status::ok)
      return report(std::string(store::to_string(s)),
                    "at seq " + std::to_string(reader.position_seq()) + " in " + dir.string() +
                        " (run 'rill journal verify' for the position)",
                    exit_refused);
    if (f.to != 0 && rec.seq > f.to) break;
    auto ev = event_json(rec.body);
    if (ev.is_discarded()) {
      std::cerr << "rill: seq " << rec.seq << ": body is not a MessagePack map (" << rec.body.size()
                << " bytes)" << std::endl;
      continue;
    }
    std::cout << (g.json ? ev.dump() : event_line(ev)) << '\n';
    if (f.to != 0 && rec.seq >= f.to) break;
  }
  std::cout.flush();
  return exit_ok;
}

// State derived from the journal that a cut makes stale: rill-core's index
// checkpoint and read-model snapshots taken after the cut. Both would be
// refused at load anyway (the checkpoint when it is ahead of the head, a
// snapshot by its event fingerprint), but moved aside with the dropped
// segments the daemons start without a wait and the operator keeps all.
struct derived_file {
  std::filesystem::path path;  // where it is now
  std::filesystem::path rel;   // its place under D (and under the backup)
  uint64_t seq = 0;
};

std::vector<derived_file> stale_derived_files(const std::filesystem::path& data, uint64_t after) {
  std::vector<derived_file> out;
  const auto idx = data / "index" / "checkpoint.idx";
  if (std::ifstream in{idx, std::ios::binary}) {
    char head[index_checkpoint::header_size] = {};
    if (in.read(head, sizeof head) && std::equal(head, head + 8, index_checkpoint::magic)) {
      const uint64_t seq = store::format::load_u64(head + index_checkpoint::seq_offset);
      if (seq > after) out.push_back({idx, std::filesystem::path("index") / "checkpoint.idx", seq});
    }
  }
  std::error_code ec;
  for (const auto& m : std::filesystem::directory_iterator(data / "models", ec)) {
    if (!m.is_directory(ec)) continue;
    std::error_code ec2;
    for (const auto& f : std::filesystem::directory_iterator(m.path(), ec2)) {
      uint64_t seq = 0;
      if (readmodels::snapshot_format::parse_file_name(f.path().filename().string(), seq) &&
          seq > after)
        out.push_back({f.path(),
                       std::filesystem::path("models") / m.path().filename() / f.path().filename(),
                       seq});
    }
  }
  return out;
}

// D/journal-dropped-20261128T190102Z (a suffix when that exists).
std::filesystem::path backup_dir(const std::filesystem::path& data) {
  const std::string stamp = format_utc_ms(now_ns());  // 2026-11-28T19:01:02.123Z
  std::string compact;
  for (char c : stamp.substr(0, 19))
    if (c != '-' && c != ':') compact += c;
  auto dir = data / ("journal-dropped-" + compact + "Z");
  std::error_code ec;
  for (int n = 2; std::filesystem::exists(dir, ec); ++n)
    dir = data / ("journal-dropped-" + compact + "Z-" + std::to_string(n));
  return dir;
}

int run_truncate(global_options& g, const truncate_flags& f) {
  if (f.yes && f.dry_run)
    return usage_error("journal truncate", "--yes and --dry-run exclude each other");
  const auto data = g.data_dir();
  const auto dir = journal_dir(g);
  std::error_code ec;
  if (auto why = data_dir_denied(data, "journal"); !why.empty())
    return report("forbidden", why, exit_refused);
  if (!std::filesystem::is_directory(dir, ec))
    return report("not_found", "no journal at " + dir.string(), exit_refused);
  // Every daemon must be stopped: a running read model holds state from
  // events the cut drops, and would skip the new events given their seqs.
  std::string running;
  const bool supervised = run_lock_busy(lock_file(data));
  if (supervised) {
    auto pid = read_pid_file(supervisor_pid_file(data));
    running = "rill up" + (pid ? " (pid " + std::to_string(*pid) + ")" : std::string());
  }
  if (auto d = daemons_running(data, std::chrono::milliseconds(0)); !d.empty())
    running += (running.empty() ? "" : ", ") + d;
  // Daemons started by hand are not rill down's to stop: say how to stop them.
  if (!running.empty())
    return report("already_running",
                  running + " running for " + data.string() + "; stop " +
                      (supervised ? "rill first ('rill down --data " + data.string() + "')"
                                  : "them first (kill the pids in their pid files in " +
                                        (data / "run").string() +
                                        "; they were not started by "
                                        "'rill up')"),
                  exit_refused);

  const auto plan = store::plan_truncate(dir, f.after);
  if (plan.status == store::io_status::invalid_argument)
    return usage_error("journal truncate",
                       "--after " + std::to_string(f.after) + ": " + plan.error);
  if (plan.status != store::io_status::ok)
    return report(std::string(store::to_string(plan.status)), plan.error, exit_refused);
  const auto derived = stale_derived_files(data, f.after);
  const bool act = plan.drops() || !derived.empty();
  const auto backup = backup_dir(data);

  auto summary = [&](bool done) {
    if (g.json) {
      nlohmann::json j = {{"ok", true},
                          {"done", done && act},
                          {"journal", dir.string()},
                          {"after", f.after},
                          {"first_seq", plan.first_seq},
                          {"sound_head", plan.sound_head},
                          {"dropped_events", plan.dropped_records},
                          {"records_past_damage", plan.records_past_damage},
                          {"dropped_bytes", plan.cut_end - plan.cut_offset},
                          {"removed_segments", plan.removed_segments},
                          {"backup", act ? backup.string() : std::string()}};
      nlohmann::json moved = nlohmann::json::array();
      for (const auto& d : derived) moved.push_back({{"file", d.rel.string()}, {"seq", d.seq}});
      j["moved"] = moved;
      std::cout << j.dump() << std::endl;
      return;
    }
    if (!act) {
      std::cout << "journal " << dir.string() << ": nothing after seq " << f.after << " to drop"
                << std::endl;
      return;
    }
    std::cout << (done ? "dropped " : "would drop ") << plan.dropped_records << " events";
    if (plan.dropped_records > 0)
      std::cout << " (seq " << f.after + 1 << ".." << plan.sound_head << ")";
    std::cout << " after seq " << f.after;
    if (plan.records_past_damage > 0)
      std::cout << ", and " << plan.records_past_damage
                << " more records past the damage (valid checksums, not in the chain)";
    if (plan.cut_end > plan.cut_offset)
      std::cout << "; zero " << plan.cut_end - plan.cut_offset << " bytes of "
                << store::format::segment_file_name(plan.cut_segment) << " from offset "
                << plan.cut_offset;
    if (!plan.removed_segments.empty())
      std::cout << "; remove " << plan.removed_segments.size() << " segment file(s)";
    for (const auto& d : derived)
      std::cout << "; move " << d.rel.string() << " (seq " << d.seq << ")";
    std::cout << std::endl;
    if (done) std::cout << "saved what was dropped to " << backup.string() << std::endl;
  };
  if (f.dry_run) {
    summary(false);
    return exit_ok;
  }
  if (!f.yes) {
    summary(false);
    return usage_error("journal truncate",
                       "this drops events for good from the journal; add --yes to do it (or "
                       "--dry-run to only see what it would drop)");
  }
  if (!act) {
    summary(true);
    return exit_ok;
  }
  std::string error;
  if (auto s = store::apply_truncate(dir, plan, backup / "journal", error);
      s != store::io_status::ok)
    return report("truncate_failed", error, exit_refused);
  for (const auto& d : derived) {
    const auto to = backup / d.rel;
    std::filesystem::create_directories(to.parent_path(), ec);
    std::filesystem::rename(d.path, to, ec);
    if (ec)
      return report("truncate_failed",
                    "the journal is cut, but " + d.path.string() + " could not be moved to " +
                        to.string() + ": " + ec.message() + "; remove it before starting rill",
                    exit_refused);
  }
  summary(true);
  return exit_ok;
}

}  // namespace

void add_journal_command(CLI::App& app, global_options& g) {
  auto* sub =
      app.add_subcommand("journal", "Check, print or cut the journal (works with rill stopped)");
  add_global_flags(*sub, g);
  sub->require_subcommand(1);
  auto* verify = sub->add_subcommand(
      "verify",
      "Check every record; exit 1 with the position (file, offset, seq) of the first corruption");
  add_global_flags(*verify, g);
  verify->callback([&g] { g.exit = run_verify(g); });
  auto f = std::make_shared<dump_flags>();
  auto* dump = sub->add_subcommand("dump", "Print events: one line each (JSON lines with --json)");
  add_global_flags(*dump, g);
  dump->add_option("--from", f->from, "First seq (default 1)");
  // 0 would read as "no --to" (it printed everything): seqs start at 1.
  dump->add_option("--to", f->to, "Last seq (default: the head)")->check(CLI::PositiveNumber);
  dump->callback([&g, f] { g.exit = run_dump(g, *f); });
  auto t = std::make_shared<truncate_flags>();
  auto* truncate =
      sub->add_subcommand("truncate",
                          "Cut the journal after a seq (rill stopped); what is dropped is saved to "
                          "D/journal-dropped-<time>/");
  add_global_flags(*truncate, g);
  truncate->add_option("--after", t->after, "The last seq to keep")->required();
  truncate->add_flag("--yes", t->yes, "Do it (events after --after are dropped for good)");
  truncate->add_flag("--dry-run", t->dry_run, "Only print what would be dropped");
  truncate->callback([&g, t] { g.exit = run_truncate(g, *t); });
}

}  // namespace rill::cli
