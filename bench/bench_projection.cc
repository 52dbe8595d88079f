// Projection benchmarks:
//  - rebuild speed: events/s applied from a journal (decode only, the
//    built-in journal_stats model, each of the default domain's six models,
//    all six in one pass, customers and orders rebuilt as a running model
//    is (from its clone_empty()), customers and orders split over two threads
//    (rebuild_threads 2), and the real rebuild_job with journal_stats and
//    with orders, one thread and two);
//  - query round trip over ipc (p50/p99) next to a raw ZeroMQ DEALER/ROUTER
//    echo measured in the same run.
// RILL_BENCH_EVENTS sets the journal size (default 1,000,000 events).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "core/buffer.h"
#include "core/event.h"
#include "readmodels/apply_ahead.h"
#include "readmodels/event_source_journal.h"
#include "readmodels/projector_decode.h"
#include "readmodels/projector_rebuild.h"
#include "readmodels/registry.h"
#include "readmodels/runtime.h"
#include "readmodels/runtime_journal_stats.h"
#include "readmodels/split_apply.h"
#include "store/journal_writer.h"
#include "transport/client.h"
#include "transport/endpoints.h"
#include "transport/event_publisher.h"

namespace {

namespace fs = std::filesystem;
using namespace rill;
using json = nlohmann::json;

uint64_t bench_events() {
  const char* e = std::getenv("RILL_BENCH_EVENTS");
  return e ? std::strtoull(e, nullptr, 10) : 1'000'000;
}

// A journal in a temp directory, removed at exit.
struct bench_journal {
  fs::path root;
  fs::path dir;
  uint64_t events = 0;
  ~bench_journal() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
};

std::unique_ptr<store::journal_writer> open_writer(const fs::path& dir) {
  store::journal_options o;
  o.dir = dir;
  o.segment_size = 256ull << 20;
  store::recovery_report rep;
  auto w = store::journal_writer::open(o, rep);
  if (!w) {
    std::fprintf(stderr, "cannot open journal: %s\n", rep.message.c_str());
    std::abort();
  }
  return w;
}

fs::path make_root(const char* name) {
  std::string tmpl = (fs::temp_directory_path() / (std::string(name) + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

// The default domain's events (DOMAIN.md): for every 10 events, 2 customers
// created, 1 updated, 6 orders created, 1 exchange rate set.
bench_journal& domain_journal() {
  static bench_journal j = [] {
    bench_journal b;
    b.root = make_root("rill-bench-proj");
    b.dir = b.root / "journal";
    auto w = open_writer(b.dir);
    const uint64_t n = bench_events();
    out_buffer buf;
    msgpack::zone zone;
    uint64_t customers = 0, orders = 0;
    const char* currencies[] = {"EUR", "USD", "GBP", "CHF"};
    for (uint64_t seq = 1; seq <= n; ++seq) {
      zone.clear();
      event_view e;
      e.seq = seq;
      e.ts = 1'700'000'000'000'000'000ull + seq;
      std::string id, cust;
      json data;
      const uint64_t k = seq % 10;
      if (k < 2 || customers == 0) {
        id = "c" + std::to_string(++customers);
        e.agg = "customer";
        e.type = "CUSTOMER_CREATED";
        e.ver = 1;
        data = {{"name", "Customer " + id}, {"email", id + "@example.com"}, {"country", "DE"}};
      } else if (k == 2) {
        id = "c" + std::to_string(1 + seq % customers);
        e.agg = "customer";
        e.type = "CUSTOMER_UPDATED";
        e.ver = 2;
        data = {{"email", id + "@example.org"}};
      } else if (k == 9 && orders > 0) {
        id = "o" + std::to_string(orders);
        e.agg = "order";
        e.type = "EXCHANGE_RATE_SET";
        e.ver = 2;
        data = {{"rate", 1.1}, {"base", "EUR"}};
      } else {
        id = "o" + std::to_string(++orders);
        cust = "c" + std::to_string(1 + seq % customers);
        e.agg = "order";
        e.type = "ORDER_CREATED";
        e.ver = 1;
        data = {{"customer_id", cust},
                {"amount", 10.0 + static_cast<double>(seq % 1000)},
                {"currency", currencies[seq % 4]}};
      }
      e.id = id;
      const auto bytes = json::to_msgpack(data);
      std::size_t off = 0;
      msgpack::object d =
          msgpack::unpack(zone, reinterpret_cast<const char*>(bytes.data()), bytes.size(), off);
      e.data = &d;
      buf.clear();
      encode_event(buf, e);
      if (w->append(seq, buf.span()) != store::io_status::ok) std::abort();
      if (seq % 1024 == 0) w->publish();
    }
    w->publish();
    b.events = n;
    return b;
  }();
  return j;
}

// Reads the whole journal, decoding every event and applying it to `m`
// (nullptr: decode only) through apply_ahead with `depth` (1: no lookahead).
// Returns the events seen.
// depth 0: split_apply (this thread reads and decodes, a worker applies), as
// a rebuild does by default (rebuild_threads 2); depth >= 1: apply_ahead on
// this thread alone.
uint64_t apply_all(const fs::path& dir, readmodels::read_model* m, size_t depth = 1) {
  readmodels::event_source_journal src(dir);
  readmodels::source_event ev;
  uint64_t n = 0;
  if (m == nullptr) {
    readmodels::event_decoder dec;
    event_view v;
    std::string why;
    while (src.next(ev) == readmodels::source_status::ok) {
      benchmark::DoNotOptimize(dec.decode(ev.body, v, why));
      ++n;
    }
    return n;
  }
  readmodels::change_set ignored(false);
  auto run = [&](auto& ahead) {
    while (src.next(ev) == readmodels::source_status::ok) {
      ahead.push(ev.seq, ev.body);
      ++n;
    }
    ahead.flush();
  };
  if (depth == 0) {
    readmodels::split_apply split(
        *m, ignored, std::min(readmodels::split_apply::kDefaultSlots, src.stable_bodies() + 1));
    run(split);
  } else {
    readmodels::apply_ahead ahead(*m, ignored, depth);
    run(ahead);
  }
  return n;
}

void BM_read_journal(benchmark::State& state) {
  auto& j = domain_journal();
  for (auto _ : state) {
    readmodels::event_source_journal src(j.dir);
    readmodels::source_event ev;
    uint64_t n = 0;
    while (src.next(ev) == readmodels::source_status::ok) ++n;
    benchmark::DoNotOptimize(n);
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(j.events) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_read_journal)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_decode_events(benchmark::State& state) {
  auto& j = domain_journal();
  for (auto _ : state) benchmark::DoNotOptimize(apply_all(j.dir, nullptr));
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(j.events) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_decode_events)->Unit(benchmark::kMillisecond)->UseRealTime();

// decode_event() alone (the checked slow path), for comparison.
void BM_decode_event_checked(benchmark::State& state) {
  auto& j = domain_journal();
  for (auto _ : state) {
    readmodels::event_source_journal src(j.dir);
    msgpack::zone zone;
    event_view v;
    readmodels::source_event ev;
    uint64_t n = 0;
    while (src.next(ev) == readmodels::source_status::ok) {
      zone.clear();
      n += decode_event(ev.body, zone, v) == errc::ok;
    }
    benchmark::DoNotOptimize(n);
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(j.events) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_decode_event_checked)->Unit(benchmark::kMillisecond)->UseRealTime();

// Arg: apply_ahead depth (1 = decode and apply one at a time; 8 = the
// rebuild_job's default lookahead with read_model::prefetch()).
void rebuild_model(benchmark::State& state,
                   const std::function<std::unique_ptr<readmodels::read_model>()>& make,
                   size_t depth) {
  auto& j = domain_journal();
  for (auto _ : state) {
    state.PauseTiming();
    auto m = make();
    state.ResumeTiming();
    benchmark::DoNotOptimize(apply_all(j.dir, m.get(), depth));
    state.PauseTiming();
    m.reset();
    state.ResumeTiming();
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(j.events) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

void BM_rebuild_journal_stats(benchmark::State& state) {
  rebuild_model(
      state, [] { return std::make_unique<readmodels::journal_stats>(); },
      static_cast<size_t>(state.range(0)));
}
BENCHMARK(BM_rebuild_journal_stats)->Arg(1)->ArgName("depth")->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_rebuild_domain_model(benchmark::State& state, const char* name) {
  readmodels::model_config cfg;
  cfg.data_dir = domain_journal().root.string();
  rebuild_model(
      state, [&] { return readmodels::make_model(name, cfg); },
      static_cast<size_t>(state.range(0)));
}
#define RILL_REBUILD_BENCH(model)                             \
  BENCHMARK_CAPTURE(BM_rebuild_domain_model, model, #model) \
      ->Arg(1)                                                \
      ->Arg(8)                                                \
      ->ArgName("depth")                                      \
      ->Unit(benchmark::kMillisecond)                         \
      ->UseRealTime()
// A rebuild of a running model, as a `rebuild` request does it: the new
// state is the live model's clone_empty() (which may size itself from the
// live state), filled from seq 1 with the default lookahead (depth 8). The
// live model is built once, untimed; BM_rebuild_domain_model above starts
// from a model created from nothing, as a first start without a snapshot.
void BM_rebuild_running_model(benchmark::State& state, const char* name) {
  auto& j = domain_journal();
  readmodels::model_config cfg;
  cfg.data_dir = j.root.string();
  auto live = readmodels::make_model(name, cfg);
  apply_all(j.dir, live.get(), 8);
  for (auto _ : state) {
    auto fresh = live->clone_empty();
    benchmark::DoNotOptimize(apply_all(j.dir, fresh.get(), 8));
    state.PauseTiming();
    fresh.reset();
    state.ResumeTiming();
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(j.events) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_rebuild_running_model, customers, "customers")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_rebuild_running_model, orders, "orders")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The same with rebuild_threads 2: reading on this thread, decoding and
// applying on a second one (split_apply).
void BM_rebuild_split(benchmark::State& state, const char* name) {
  readmodels::model_config cfg;
  cfg.data_dir = domain_journal().root.string();
  rebuild_model(
      state, [&] { return readmodels::make_model(name, cfg); }, 0);
}
BENCHMARK_CAPTURE(BM_rebuild_split, customers, "customers")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_rebuild_split, orders, "orders")->Unit(benchmark::kMillisecond)->UseRealTime();
RILL_REBUILD_BENCH(customers);
RILL_REBUILD_BENCH(orders);
RILL_REBUILD_BENCH(top_customers);
RILL_REBUILD_BENCH(customer_analysis);
RILL_REBUILD_BENCH(email_campaigns);
RILL_REBUILD_BENCH(exchange_rates);

// The whole default model set (readmodels::model_names()) rebuilt in one pass:
// every event read and decoded once, then applied to each of the six models.
// events/s counts journal events, not applications.
void BM_rebuild_all_models(benchmark::State& state) {
  auto& j = domain_journal();
  readmodels::model_config cfg;
  cfg.data_dir = j.root.string();
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::unique_ptr<readmodels::read_model>> models;
    for (const std::string& name : readmodels::model_names())
      models.push_back(readmodels::make_model(name, cfg));
    state.ResumeTiming();
    readmodels::event_source_journal src(j.dir);
    readmodels::event_decoder dec;
    readmodels::change_set changed;
    event_view v;
    std::string why;
    readmodels::source_event ev;
    uint64_t n = 0;
    while (src.next(ev) == readmodels::source_status::ok) {
      if (dec.decode(ev.body, v, why) == errc::ok) {
        for (auto& m : models) m->apply(v, changed);
        changed.clear();
      }
      ++n;
    }
    benchmark::DoNotOptimize(n);
    state.PauseTiming();
    models.clear();
    state.ResumeTiming();
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(j.events) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_rebuild_all_models)->Unit(benchmark::kMillisecond)->UseRealTime();

// The real rebuild path: rebuild_job on its own thread, its own reader.
// Args: model (0: the built-in journal_stats, 1: orders), threads (1 or 2:
// rebuild_threads).
void BM_rebuild_job(benchmark::State& state) {
  auto& j = domain_journal();
  std::atomic<uint64_t> target{j.events};
  readmodels::model_config cfg;
  cfg.data_dir = j.root.string();
  for (auto _ : state) {
    readmodels::event_source_factory f = [&] {
      return std::make_unique<readmodels::event_source_journal>(j.dir);
    };
    std::unique_ptr<readmodels::read_model> fresh;
    if (state.range(0) == 0)
      fresh = std::make_unique<readmodels::journal_stats>();
    else
      fresh = readmodels::make_model("orders", cfg);
    readmodels::rebuild_job job(std::move(fresh), f, target, static_cast<unsigned>(state.range(1)));
    while (job.poll() == readmodels::rebuild_job::state::running)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    uint64_t applied = 0;
    auto m = job.take(applied);
    if (applied != j.events) state.SkipWithError("rebuild did not reach the head");
    state.PauseTiming();
    m.reset();
    state.ResumeTiming();
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(j.events) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_rebuild_job)
    ->ArgsProduct({{0, 1}, {1, 2}})
    ->ArgNames({"orders", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// ------------------------------------------------------------ round trips

void report_latencies(benchmark::State& state, std::vector<double>& us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

void BM_query_roundtrip(benchmark::State& state) {
  const fs::path root = make_root("rill-bench-query");
  {
    auto w = open_writer(root / "journal");
    out_buffer buf;
    for (uint64_t seq = 1; seq <= 1000; ++seq) {
      event_view e;
      e.seq = seq;
      e.ts = seq;
      e.type = "THING_HAPPENED";
      e.agg = "thing";
      const std::string id = "t" + std::to_string(seq % 100);
      e.id = id;
      e.ver = 1;
      buf.clear();
      encode_event(buf, e);
      (void)w->append(seq, buf.span());
    }
    w->publish();
  }
  readmodels::runtime_options o;
  o.data_dir = root;
  o.notify_in_endpoint = "none";
  o.final_snapshot = false;
  o.idle_spin = std::chrono::microseconds(state.range(0));
  std::vector<std::unique_ptr<readmodels::read_model>> models;
  models.push_back(std::make_unique<readmodels::journal_stats>());
  readmodels::runtime rt(o, std::move(models));
  std::thread t([&] { rt.run(); });
  zmq::context_t ctx;
  transport::rpc_client c(ctx, rt.options().model_endpoints.at("journal_stats"));
  const auto body = json::to_msgpack({{"q", "get"}, {"args", {{"agg", "thing"}, {"id", "t7"}}}});
  while (!c.call({{"q", "ping"}}, std::chrono::milliseconds(1000))) {
  }
  std::vector<double> us;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    c.send({reinterpret_cast<const char*>(body.data()), body.size()});
    auto reply = c.receive(std::chrono::milliseconds(5000));
    if (!reply) {
      state.SkipWithError("no reply");
      break;
    }
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  report_latencies(state, us);
  rt.stop();
  t.join();
  std::error_code ec;
  fs::remove_all(root, ec);
}
BENCHMARK(BM_query_roundtrip)
    ->Arg(0)
    ->Arg(50)
    ->ArgName("idle_spin_us")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->MinTime(2.0);

void BM_zmq_echo_roundtrip(benchmark::State& state) {
  const fs::path root = make_root("rill-bench-echo");
  const std::string ep = "ipc://" + (root / "echo").string();
  zmq::context_t ctx;
  std::atomic<bool> stop{false}, bound{false};
  std::thread server([&] {
    zmq::socket_t r(ctx, zmq::socket_type::router);
    r.bind(ep);
    bound.store(true);
    zmq::pollitem_t item{r.handle(), 0, ZMQ_POLLIN, 0};
    while (!stop.load()) {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(50)) <= 0) continue;
      zmq::message_t id, body;
      (void)r.recv(id);
      (void)r.recv(body);
      r.send(id, zmq::send_flags::sndmore);
      r.send(body, zmq::send_flags::none);
    }
  });
  while (!bound.load()) std::this_thread::yield();
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  dealer.connect(ep);
  const auto body = json::to_msgpack({{"q", "get"}, {"args", {{"agg", "thing"}, {"id", "t7"}}}});
  std::vector<double> us;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    dealer.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none);
    zmq::message_t reply;
    (void)dealer.recv(reply);
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  report_latencies(state, us);
  stop.store(true);
  server.join();
  std::error_code ec;
  fs::remove_all(root, ec);
}
BENCHMARK(BM_zmq_echo_roundtrip)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(2.0);

// Append -> applied latency: an event is published to the journal, then the
// projector must notice it, apply it and push its change report, which the
// bench receives on a PULL socket. Events come 1 ms apart, so the projector
// is asleep each time (the case that costs a wake-up). With the feed, the
// receive thread rings the projector's doorbell; without it, the projector
// finds the event at its next tail check (tail_check_ms).
void BM_append_to_applied(benchmark::State& state) {
  const bool with_feed = state.range(0) != 0;
  const fs::path root = make_root("rill-bench-latency");
  auto w = open_writer(root / "journal");
  zmq::context_t ctx;
  const std::string notify_ep = "ipc://" + (root / "notify-in").string();
  zmq::socket_t pull(ctx, zmq::socket_type::pull);
  pull.bind(notify_ep);
  std::unique_ptr<transport::event_publisher> pub;
  if (with_feed) {
    transport::publisher_options po;
    po.endpoint = transport::default_endpoints(root).events;
    po.journal_dir = root / "journal";
    pub = std::make_unique<transport::event_publisher>(ctx, po, nullptr);
  }
  readmodels::runtime_options o;
  o.data_dir = root;
  o.notify_in_endpoint = notify_ep;
  o.final_snapshot = false;
  std::vector<std::unique_ptr<readmodels::read_model>> models;
  models.push_back(std::make_unique<readmodels::journal_stats>());
  readmodels::runtime rt(o, std::move(models));
  std::thread t([&] { rt.run(); });
  while (!rt.ready()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the feed connects
  auto wait_report = [&](uint64_t seq) {
    for (;;) {
      zmq::message_t m;
      zmq::pollitem_t item{pull.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, std::chrono::milliseconds(2000)) <= 0) return false;
      (void)pull.recv(m);
      const json j =
          json::from_msgpack(static_cast<const uint8_t*>(m.data()),
                             static_cast<const uint8_t*>(m.data()) + m.size(), true, false);
      if (j.value("seq", uint64_t{0}) >= seq) return true;
    }
  };
  out_buffer buf;
  uint64_t seq = 0;
  std::vector<double> us;
  for (auto _ : state) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++seq;
    event_view e;
    e.seq = seq;
    e.ts = seq;
    e.type = "THING_HAPPENED";
    e.agg = "thing";
    e.id = "x";
    e.ver = seq;
    buf.clear();
    encode_event(buf, e);
    const auto t0 = std::chrono::steady_clock::now();
    (void)w->append(seq, buf.span());
    w->publish();
    if (pub) pub->advance(seq);
    if (!wait_report(seq)) {
      state.SkipWithError("no change report");
      break;
    }
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  report_latencies(state, us);
  rt.stop();
  t.join();
  pub.reset();
  w.reset();
  std::error_code ec;
  fs::remove_all(root, ec);
}
BENCHMARK(BM_append_to_applied)
    ->Arg(0)
    ->Arg(1)
    ->ArgName("feed")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->Iterations(500);

}  // namespace

BENCHMARK_MAIN();
