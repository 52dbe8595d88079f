#include "daemons/rill_core/index_store.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/buffer.h"
#include "core/event.h"
#include "core/index_checkpoint.h"
#include "store/journal_reader.h"

namespace rill::daemon {
namespace {

std::filesystem::path index_dir(const std::filesystem::path& data) { return data / "index"; }

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

bool write_checkpoint(const validator& v, uint64_t seq, const std::filesystem::path& data) {
  out_buffer buf;
  v.serialize(buf, seq);
  auto dir = index_dir(data);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  ::chmod(dir.c_str(), 0700);  // private like the rest of D
  auto partial = dir / "checkpoint.idx.partial";
  auto final_path = dir / "checkpoint.idx";
  int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = write_all(fd, buf.data(), buf.size()) && ::fdatasync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(partial.c_str(), final_path.c_str()) != 0) {
    ::unlink(partial.c_str());
    return false;
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

std::unique_ptr<validator> load_index(const schema& s, validator_options vo,
                                      const std::filesystem::path& data, uint64_t head,
                                      index_load_report& report) {
  const auto t0 = std::chrono::steady_clock::now();
  auto v = std::make_unique<validator>(s, vo);
  std::error_code ec;
  std::filesystem::remove(index_dir(data) / "checkpoint.idx.partial", ec);  // stray partial file
  ::chmod(index_dir(data).c_str(), 0700);  // private like the rest of D (if it exists)
  auto file = index_dir(data) / "checkpoint.idx";
  if (std::filesystem::exists(file, ec)) {
    // Read in one go (an istreambuf_iterator copy of a 300 MB file took
    // seconds of a start). Anything that is not a regular file, or larger
    // than half this machine's memory, is not a checkpoint this process could
    // have written: it is passed over like a damaged one (a directory there
    // made rill-core die of bad_alloc at every start).
    std::vector<char> body;
    const uint64_t memory = static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                            static_cast<uint64_t>(::sysconf(_SC_PAGE_SIZE));
    const bool regular = std::filesystem::is_regular_file(file, ec);
    const uint64_t size = regular ? std::filesystem::file_size(file, ec) : 0;
    if (!regular || ec || size > memory / 2) {
      spdlog::warn("index checkpoint {} is {}; passing it over", file.string(),
                   !regular ? "not a regular file" : "larger than half of memory");
    } else if (size > 0) {
      // The magic first: a file that does not start with it (a sparse file
      // of gigabytes) is not read whole to be rejected.
      std::ifstream in(file, std::ios::binary);
      char head[sizeof index_checkpoint::magic] = {};
      if (in && in.read(head, sizeof head) &&
          std::memcmp(head, index_checkpoint::magic, sizeof head) == 0) {
        body.resize(static_cast<size_t>(size));
        std::memcpy(body.data(), head, sizeof head);
        if (!in.read(body.data() + sizeof head, static_cast<std::streamsize>(size - sizeof head)))
          body.clear();
      }
    }
    uint64_t seq = 0;
    if (!v->load(body, seq)) {
      spdlog::warn("index checkpoint {} is damaged; rebuilding the index from the journal", file.string());
      v = std::make_unique<validator>(s, vo);
    } else if (seq > head) {
      // The journal lost its tail since (a power cut in sync mode none, or
      // `rill journal truncate`). The file must go before new events take
      // those seqs: it would pass for their index at a later start.
      spdlog::warn(
          "index checkpoint is at seq {} but the journal ends at {}; removing it and "
          "rebuilding the index",
          seq, head);
      v = std::make_unique<validator>(s, vo);
      std::filesystem::remove(file, ec);
      if (ec)
        throw std::runtime_error("cannot remove the stale index checkpoint " + file.string() +
                                 ": " + ec.message());
      const int dfd = ::open(index_dir(data).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
      }
    } else {
      report.checkpoint_seq = seq;
    }
  }
  store::journal_reader reader(data / "journal");
  if (reader.seek(report.checkpoint_seq + 1) != store::io_status::ok)
    throw std::runtime_error("cannot read the journal to rebuild the index");
  store::record_view rec;
  uint64_t foreign_events = 0;
  for (;;) {
    auto st = reader.next(rec);
    if (st == store::io_status::end_of_log) break;
    if (st != store::io_status::ok)
      throw std::runtime_error("journal read failed while rebuilding the index at seq " +
                               std::to_string(reader.position_seq()));
    event_head h;
    if (!peek_event(rec.body, h)) {
      spdlog::error("journal record seq {} is not an event; skipped by the index", rec.seq);
      continue;
    }
    if (!v->apply(h.agg, h.id, h.ver, h.key, rec.seq)) ++foreign_events;
    ++report.replayed;
  }
  if (foreign_events > 0 || v->foreign_aggregate_count() > 0)
    spdlog::warn(
        "the journal holds {} aggregates of types this schema does not have ({} of the "
        "events replayed now); they are kept in the index for a schema that has them",
        v->foreign_aggregate_count(), foreign_events);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return v;
}

bool background_checkpointer::running() {
  if (child_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(child_, &status, WNOHANG);
  if (r == 0) return true;
  if (r == child_ && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    spdlog::error("index checkpoint child failed (status {})", status);
  child_ = -1;
  return false;
}

void background_checkpointer::wait() {
  if (child_ <= 0) return;
  int status = 0;
  ::waitpid(child_, &status, 0);
  child_ = -1;
}

bool background_checkpointer::start(const validator& v, uint64_t seq) {
  if (running()) return false;
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    spdlog::warn("cannot fork for an index checkpoint: {}", std::strerror(errno));
    return false;
  }
  if (pid == 0) {
    // Child: only this thread exists; touch nothing but the validator and
    // files. It dies with rill-core, and holds none of its descriptors: a
    // child that outlived a SIGKILLed rill-core kept the journal's lock, and
    // the restart was refused for seconds (an outside probe).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(1);  // rill-core died before the prctl
    ::close_range(3, ~0u, 0);
    _exit(write_checkpoint(v, seq, data_) ? 0 : 1);
  }
  child_ = pid;
  last_seq_ = seq;
  return true;
}

}  // namespace rill::daemon
