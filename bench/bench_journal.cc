// Journal benchmarks: append throughput (sync none, publish per 64, with and
// without the prefaulter, and into already-prefaulted pages), sequential
// scan with journal_reader, and durable
// group commit (append + publish + flush per 64) with fdatasync vs msync.
// Bodies are 100 bytes. Journals live in a temp dir under $TMPDIR, removed
// after each run.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "store/journal_reader.h"
#include "store/journal_writer.h"

namespace {

using namespace rill::store;

class bench_dir {
 public:
  bench_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rill-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~bench_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::filesystem::path journal() const { return path_ / "journal"; }

 private:
  std::filesystem::path path_;
};

constexpr size_t kBody = 100;
constexpr uint64_t kGroup = 64;

std::unique_ptr<journal_writer> open_or_die(const journal_options& o) {
  recovery_report r;
  auto w = journal_writer::open(o, r);
  if (!w) {
    std::fprintf(stderr, "open failed: %s\n", r.message.c_str());
    std::abort();
  }
  return w;
}

// Append, sync none, publish every 64. range(0): prefault_ahead in MiB (0 = off).
void BM_Append(benchmark::State& state) {
  bench_dir d;
  journal_options o;
  o.dir = d.journal();
  o.prefault_ahead = static_cast<uint64_t>(state.range(0)) << 20;
  auto w = open_or_die(o);
  const std::string body(kBody, 'x');
  uint64_t seq = 0;
  for (auto _ : state) {
    if (w->append(++seq, body) != io_status::ok) {
      state.SkipWithError("append failed");
      break;
    }
    if (seq % kGroup == 0) w->publish();
  }
  w->publish();
  state.SetItemsProcessed(static_cast<int64_t>(seq));
  state.SetBytesProcessed(static_cast<int64_t>(seq * kBody));
}
BENCHMARK(BM_Append)->Arg(32)->Arg(0)->Unit(benchmark::kNanosecond)->MinTime(0.3);

// The writer's own cost: appends into pages the prefaulter has already
// mapped (timing paused while it refills the window every 256K records).
void BM_AppendPrefaulted(benchmark::State& state) {
  bench_dir d;
  journal_options o;
  o.dir = d.journal();
  o.prefault_ahead = 64ull << 20;
  auto w = open_or_die(o);
  const std::string body(kBody, 'x');
  uint64_t seq = 0;
  auto refill = [&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (w->prefaulted_bytes() < (40ull << 20) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  refill();
  for (auto _ : state) {
    if (w->append(++seq, body) != io_status::ok) {
      state.SkipWithError("append failed");
      break;
    }
    if (seq % kGroup == 0) {
      w->publish();
      if (seq % (256 << 10) == 0) {
        state.PauseTiming();
        refill();
        state.ResumeTiming();
      }
    }
  }
  w->publish();
  state.SetItemsProcessed(static_cast<int64_t>(seq));
  state.SetBytesProcessed(static_cast<int64_t>(seq * kBody));
}
BENCHMARK(BM_AppendPrefaulted)->Unit(benchmark::kNanosecond)->MinTime(0.3);

// Sequential scan of 2M records with journal_reader (checksums verified).
void BM_Scan(benchmark::State& state) {
  bench_dir d;
  journal_options o;
  o.dir = d.journal();
  constexpr uint64_t kRecords = 2'000'000;
  {
    auto w = open_or_die(o);
    const std::string body(kBody, 'y');
    for (uint64_t s = 1; s <= kRecords; ++s) {
      if (w->append(s, body) != io_status::ok) std::abort();
      if (s % kGroup == 0) w->publish();
    }
    w->publish();
  }
  journal_reader r(o.dir);
  record_view v;
  uint64_t n = 0, sum = 0;
  for (auto _ : state) {
    io_status s = r.next(v);
    if (s == io_status::end_of_log) {
      if (r.seek(1) != io_status::ok || r.next(v) != io_status::ok) {
        state.SkipWithError("seek failed");
        break;
      }
    } else if (s != io_status::ok) {
      state.SkipWithError("read failed");
      break;
    }
    sum += v.body.size();
    ++n;
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<int64_t>(n));
}
BENCHMARK(BM_Scan)->Unit(benchmark::kNanosecond)->MinTime(0.3);

// Durable group commit: append 64, publish, flush. range(0): 0 fdatasync, 1 msync.
void BM_AppendFlushPer64(benchmark::State& state) {
  bench_dir d;
  journal_options o;
  o.dir = d.journal();
  o.segment_size = 64ull << 20;
  o.sync = sync_mode{sync_mode::kind::batch, 0};
  o.flush_with = state.range(0) == 0 ? flush_call::fdatasync : flush_call::msync;
  auto w = open_or_die(o);
  const std::string body(kBody, 'z');
  uint64_t seq = 0;
  for (auto _ : state) {
    if (w->append(++seq, body) != io_status::ok) {
      state.SkipWithError("append failed");
      break;
    }
    if (seq % kGroup == 0) {
      w->publish();
      if (w->flush() != io_status::ok) {
        state.SkipWithError("flush failed");
        break;
      }
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(seq));
  state.SetLabel(state.range(0) == 0 ? "fdatasync" : "msync");
}
BENCHMARK(BM_AppendFlushPer64)->Arg(0)->Arg(1)->Unit(benchmark::kNanosecond)->MinTime(1.0)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
