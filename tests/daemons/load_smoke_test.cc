// `rill load` against a real rill-core: counts, the JSON report's fields, the
// SVG plot, batches, open loop; and the latency histogram's precision.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemons/rill/load_histogram.h"
#include "tests/support/child_process.h"
#include "tests/support/daemon_probe.h"
#include "transport/client.h"
#include "transport/endpoints.h"

namespace rill {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

TEST(load_histogram, QuantilesWithinOnePercent) {
  cli::latency_histogram h;
  std::mt19937_64 rng(42);
  std::vector<uint64_t> values;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = 100 + rng() % 50'000'000;  // 100 ns .. 50 ms
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double exact = static_cast<double>(values[static_cast<size_t>(std::ceil(q * values.size())) - 1]);
    EXPECT_NEAR(static_cast<double>(h.quantile(q)), exact, exact * 0.01) << "q " << q;
  }
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.count(), values.size());
}

TEST(load_histogram, BucketsCoverEveryValueAndMerge) {
  for (uint64_t v : {0ull, 1ull, 255ull, 256ull, 257ull, 511ull, 512ull, 123456789ull, ~0ull}) {
    const uint32_t b = cli::latency_histogram::bucket_of(v);
    ASSERT_LT(b, cli::latency_histogram::bucket_count);
    const uint64_t low = cli::latency_histogram::bucket_low(b);
    EXPECT_LE(low, v);
    EXPECT_LT(v - low, cli::latency_histogram::bucket_width(b));
    EXPECT_LE(cli::latency_histogram::bucket_width(b) * 128, std::max<uint64_t>(v, 128) * 2);
  }
  cli::latency_histogram a, b;
  a.record(1000);
  b.record(3000);
  b.record(2000);
  a.merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.max(), 3000u);
  EXPECT_NEAR(static_cast<double>(a.quantile(0.5)), 2000.0, 20.0);
  cli::latency_histogram empty;
  EXPECT_EQ(empty.quantile(0.99), 0u);
}

class load_smoke : public ::testing::Test {
 protected:
  void SetUp() override {
    eps_ = transport::default_endpoints(dir_.path());
    core_.start({std::string(RILL_BIN_DIR) + "/rill-core", "--data", dir_.path().string(),
                 "--segment-size", "4194304"},
                (dir_.path() / "core.log").string());
    ASSERT_TRUE(test::comes_up(ctx_, eps_.command)) << "rill-core did not come up";
  }
  uint64_t head() {
    transport::rpc_client c(ctx_, eps_.command);
    auto r = c.call({{"op", "status"}}, 5s);
    return r ? (*r)["head"].get<uint64_t>() : 0;
  }
  // Runs `rill load --data D <args> --json`; returns the JSON report and the exit code.
  // (`timeout 60` bounds a run that would not end.)
  json load(const std::string& args, int& rc, const std::string& timeout = "-s KILL 60") {
    const std::string cmd = "timeout " + timeout + " " + std::string(RILL_BIN_DIR) +
                            "/rill load --data " + dir_.path().string() + " --json " + args +
                            " 2>" + (dir_.path() / "load.err").string();
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return json();
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = ::pclose(p);
    rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return json::parse(out, nullptr, false);
  }

  // What the last load() wrote on stderr.
  std::string load_err() {
    std::ifstream in(dir_.path() / "load.err");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // SIGKILLs rill-core from another thread after `delay` and starts it
  // again, as the supervisor does (join the thread).
  std::thread restart_core_after(std::chrono::milliseconds delay) {
    return std::thread([this, delay] {
      std::this_thread::sleep_for(delay);
      core_.signal(SIGKILL);
      (void)core_.wait(std::chrono::seconds(10));
      core_.start({std::string(RILL_BIN_DIR) + "/rill-core", "--data", dir_.path().string(),
                   "--segment-size", "4194304"},
                  (dir_.path() / "core2.log").string());
    });
  }

  // SIGKILLs rill-core from another thread after `delay` (join the thread).
  std::thread kill_core_after(std::chrono::milliseconds delay) {
    return std::thread([this, delay] {
      std::this_thread::sleep_for(delay);
      core_.signal(SIGKILL);
    });
  }

  test::temp_dir dir_{"rill-load-test"};
  zmq::context_t ctx_;
  transport::endpoints eps_;
  test::child_process core_;
};

TEST_F(load_smoke, ClosedLoopMixCountsFieldsAndPlot) {
  const auto svg = dir_.path() / "lat.svg";
  int rc = -1;
  json r = load("--count 600 --connections 2 --window 16 --mix create:70,update:20,order:10 "
                "--visible --plot " + svg.string(), rc);
  ASSERT_TRUE(r.is_object()) << "no JSON report";
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(r["mode"], "closed");
  EXPECT_EQ(r["commands"], 600);
  EXPECT_EQ(r["ok"], 600);
  EXPECT_EQ(r["failed"], 0);
  EXPECT_EQ(r["lost"], 0);
  EXPECT_EQ(r["requests"], 600);
  EXPECT_TRUE(r["errors"].empty());
  for (const char* k : {"count", "min", "mean", "p50", "p90", "p99", "p999", "max"})
    EXPECT_TRUE(r["latency_us"].contains(k)) << k;
  EXPECT_EQ(r["latency_us"]["count"], 600);
  EXPECT_GT(r["latency_us"]["p50"].get<double>(), 0.0);
  EXPECT_LE(r["latency_us"]["p50"].get<double>(), r["latency_us"]["p99"].get<double>());
  EXPECT_LE(r["latency_us"]["p99"].get<double>(), r["latency_us"]["max"].get<double>());
  EXPECT_GT(r["throughput"].get<double>(), 0.0);
  EXPECT_FALSE(r.contains("send_lag_us")) << "closed loop: no intended send times";
  ASSERT_TRUE(r.contains("visible_us"));
  EXPECT_GT(r["visible_us"]["count"].get<uint64_t>(), 0u);
  EXPECT_LE(r["visible_us"]["count"].get<uint64_t>(), 600u);
  EXPECT_EQ(head(), 600u);  // every acknowledged command is journaled, once

  std::ifstream in(svg);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().rfind("<svg", 0), 0u);
  EXPECT_NE(text.str().find("</svg>"), std::string::npos);
  EXPECT_NE(text.str().find("<polyline"), std::string::npos);

  // A second run on the same data directory: fresh ids, nothing collides.
  json again = load("--count 100 --window 8", rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(again["ok"], 100);
  EXPECT_EQ(head(), 700u);
}

// --visible-journal: a tailer of the journal sees every command of this run
// (the journal drops nothing) and none of an earlier run's.
TEST_F(load_smoke, JournalTailerSeesEveryCommandOfTheRun) {
  int rc = -1;
  json first = load("--count 50 --window 8", rc);
  ASSERT_EQ(rc, 0);
  json r = load("--count 500 --connections 2 --window 16 --visible-journal", rc);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(r["ok"], 500);
  ASSERT_TRUE(r.contains("visible_journal_us"));
  EXPECT_EQ(r["visible_journal_us"]["count"], 500);
  EXPECT_EQ(r["visible_journal_us"]["expected"], 500);
  EXPECT_GT(r["visible_journal_us"]["p50"].get<double>(), 0.0);
  EXPECT_FALSE(r.contains("visible_us")) << "no feed watcher without --visible";
  EXPECT_EQ(head(), 550u);
}

TEST_F(load_smoke, AtomicBatches) {
  int rc = -1;
  json r = load("--count 256 --batch 64 --atomic --window 2 --mix create:50,order:50", rc);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(r["requests"], 4);
  EXPECT_EQ(r["ok"], 256);
  EXPECT_EQ(r["latency_us"]["count"], 4);
  EXPECT_EQ(head(), 256u);
}

// --spin-us: the closed loop polls before sleeping; every reply still counts.
TEST_F(load_smoke, ClientSpinKeepsEveryReply) {
  int rc = -1;
  json r = load("--count 300 --window 1 --spin-us 100", rc);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(r["spin_us"], 100);
  EXPECT_EQ(r["ok"], 300);
  EXPECT_EQ(r["latency_us"]["count"], 300);
  EXPECT_EQ(r["lost"], 0);
  EXPECT_EQ(head(), 300u);
}

TEST_F(load_smoke, OpenLoopSendsOnSchedule) {
  int rc = -1;
  json r = load("--rate 2000 --duration 1 --window 100", rc);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(r["mode"], "open");
  // The schedule, not the server's speed, decides how many are due: the
  // ones a loaded host could not send before the end are reported as
  // unsent, not hidden (1997 sent + 3 unsent in a busy ctest run).
  ASSERT_TRUE(r.contains("unsent")) << r.dump();
  EXPECT_NEAR(r["commands"].get<double>() + r["unsent"].get<double>(), 2000.0, 2.0) << r.dump();
  EXPECT_GE(r["commands"].get<double>(), 1900.0) << r.dump();
  EXPECT_EQ(r["ok"], r["commands"]);
  // How late each request left, next to its latency: one sample per request,
  // never more than the latency measured from the same intended time.
  ASSERT_TRUE(r.contains("send_lag_us")) << r.dump();
  EXPECT_EQ(r["send_lag_us"]["count"], r["requests"]);
  EXPECT_GE(r["send_lag_us"]["min"].get<double>(), 0.0);
  EXPECT_LE(r["send_lag_us"]["p50"].get<double>(), r["latency_us"]["p50"].get<double>());
  EXPECT_LE(r["send_lag_us"]["max"].get<double>(), r["latency_us"]["max"].get<double>());
  EXPECT_EQ(head(), r["ok"].get<uint64_t>());
}

// rill-core killed mid-run: its replies never come, the window fills up. The
// run still ends: open loop at its deadline (the full window held back the
// sends whose intended times would have ended it; it ran for ever, found by
// an outside probe), and with --count once no reply came for --drain-timeout.
TEST_F(load_smoke, OpenLoopEndsAtItsDeadlineWhenTheServerDies) {
  std::thread killer = kill_core_after(1s);
  int rc = -1;
  json r = load("--rate 3000 --duration 3 --window 200 --drain-timeout 2", rc);
  killer.join();
  EXPECT_EQ(rc, 3) << "lost replies: exit 3; " << r.dump();
  ASSERT_TRUE(r.is_object());
  EXPECT_GT(r["lost"].get<uint64_t>(), 0u);
  EXPECT_LT(r["requests"].get<uint64_t>(), 9000u) << "the full window held sends back";
}

TEST_F(load_smoke, ACountedRunEndsWhenNoReplyComes) {
  std::thread killer = kill_core_after(1s);
  int rc = -1;
  json r = load("--rate 3000 --count 30000 --window 200 --drain-timeout 2", rc);
  killer.join();
  EXPECT_EQ(rc, 3) << r.dump();
  ASSERT_TRUE(r.is_object());
  EXPECT_GT(r["lost"].get<uint64_t>(), 0u);
  EXPECT_NE(r.value("fatal", "").find("no reply from"), std::string::npos) << r.dump();
  // Why it failed is on stderr, as for every command.
  EXPECT_NE(load_err().find("rill: unreachable: no reply from"), std::string::npos) << load_err();
}

// --notified: rill-notify and rill-proj hosting `customers` next to rill-core;
// every acknowledged command is covered by a `changed` note from customers.
TEST_F(load_smoke, NotifiedRowFromAWatchingClient) {
  test::child_process notify({std::string(RILL_BIN_DIR) + "/rill-notify", "--data", dir_.path().string()},
                             (dir_.path() / "notify.log").string());
  test::child_process proj({std::string(RILL_BIN_DIR) + "/rill-proj", "--data", dir_.path().string(),
                            "--models", "customers"},
                           (dir_.path() / "proj.log").string());
  ASSERT_TRUE(test::eventually(
      [&] {
        transport::rpc_client n(ctx_, eps_.notify);
        auto a = n.call({{"op", "ping"}}, 200ms);
        transport::rpc_client m(ctx_, transport::default_model_endpoint(dir_.path(), "customers"));
        auto b = m.call({{"model", "customers"}, {"q", "status"}, {"args", json::object()}}, 200ms);
        return a && (*a)["ok"] == true && b && (*b)["ok"] == true;
      },
      20s))
      << "rill-notify or rill-proj did not come up";
  int rc = -1;
  json r = load("--rate 2000 --duration 1 --window 100 --mix create:50,update:50 --notified customers",
                rc);
  ASSERT_TRUE(r.is_object()) << "no JSON report";
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(r.contains("notified_us")) << r.dump();
  const json& n = r["notified_us"];
  EXPECT_EQ(n["model"], "customers");
  EXPECT_EQ(n["expected"], r["ok"]);
  EXPECT_GT(n["count"].get<uint64_t>(), 0u);
  EXPECT_EQ(n["count"].get<uint64_t>() + n["missing"].get<uint64_t>(), n["expected"].get<uint64_t>());
  EXPECT_GT(n["notes"].get<uint64_t>(), 0u);
  EXPECT_LE(n["p50"].get<double>(), n["p99"].get<double>());
  EXPECT_LE(n["p99"].get<double>(), n["max"].get<double>());

  // No notifier: a usage of --notified that cannot watch is reported, not hung.
  notify.kill(SIGTERM);
  load("--count 10 --notified customers", rc);
  EXPECT_EQ(rc, 3);
}

// --after-model: a probe client of its own sends a command, then asks
// rill-proj `customers` with `after` = its acknowledged seq; at most one
// sample per millisecond, on top of the load.
TEST_F(load_smoke, AfterModelProbeSamplesReadYourWrites) {
  test::child_process proj({std::string(RILL_BIN_DIR) + "/rill-proj", "--data",
                            dir_.path().string(), "--models", "customers"},
                           (dir_.path() / "proj.log").string());
  ASSERT_TRUE(test::eventually(
      [&] {
        transport::rpc_client m(ctx_, transport::default_model_endpoint(dir_.path(), "customers"));
        auto b = m.call({{"model", "customers"}, {"q", "status"}, {"args", json::object()}}, 200ms);
        return b && (*b)["ok"] == true;
      },
      20s))
      << "rill-proj did not come up";
  int rc = -1;
  json r = load(
      "--rate 2000 --duration 1 --window 100 --mix create:50,update:50 "
      "--after-model customers",
      rc);
  ASSERT_TRUE(r.is_object()) << "no JSON report";
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(r.contains("after_us")) << r.dump();
  const json& a = r["after_us"];
  EXPECT_EQ(a["model"], "customers");
  EXPECT_EQ(a["timeouts"], 0);
  // Sampled all along the 1 s run, at most once a millisecond, one sample
  // per acknowledged probe command.
  EXPECT_GE(a["count"].get<uint64_t>(), 50u) << a.dump();
  EXPECT_LE(a["count"].get<uint64_t>(), 1100u) << a.dump();
  EXPECT_EQ(a["count"], a["commands"]) << a.dump();
  EXPECT_LE(a["p50"].get<double>(), a["p99"].get<double>());
  // The probe's commands are journaled next to the load's, each once.
  EXPECT_EQ(head(), r["ok"].get<uint64_t>() + a["commands"].get<uint64_t>());
}

// rill-core killed mid-run and started again (as the supervisor does): the
// requests it lost are given up after --drain-timeout and the run goes on
// against the new process. Each lost reply used to hold its place in the
// in-flight ring for good, and the run stopped sending once the ring came
// round to it, hanging until killed (an outside probe).
TEST_F(load_smoke, ARunGoesOnAfterRillCoreLosesSomeRequests) {
  std::thread restarter = restart_core_after(700ms);
  int rc = -1;
  json r = load("--rate 1000 --count 3000 --window 100 --drain-timeout 1", rc);
  restarter.join();
  ASSERT_TRUE(r.is_object()) << "no report: the run did not end";
  EXPECT_EQ(r["requests"], 3000) << "every request was sent: " << r.dump();
  const uint64_t ok = r["ok"].get<uint64_t>(), lost = r["lost"].get<uint64_t>();
  // Whether the kill lost any depends on what was in flight at that moment
  // (on a loaded host, none may be): lost replies are exit 3, none exit 0.
  EXPECT_EQ(rc, lost > 0 ? 3 : 0) << r.dump();
  EXPECT_GT(ok, 2000u) << r.dump();
  EXPECT_EQ(ok + r["failed"].get<uint64_t>() + lost, 3000u) << r.dump();
  // Every acknowledged command is in the journal; a lost one may be too
  // (journaled, and the process died before its reply went out).
  ASSERT_TRUE(test::comes_up(ctx_, eps_.command));
  EXPECT_GE(head(), ok);
  EXPECT_LE(head(), ok + lost);
  // Why it failed is on stderr, as for every command.
  if (lost > 0) {
    EXPECT_NE(load_err().find("rill: unreachable: "), std::string::npos) << load_err();
  }
}

// The same in closed loop, where the window is full while rill-core is
// down: the whole window is given up once (lost), and the run goes on
// against the restarted rill-core to the end of its duration. (It ended at
// the first full window with no reply; a second one in a row, with nothing
// answered in between, still means the server is gone.)
TEST_F(load_smoke, AClosedLoopGoesOnAfterRillCoreRestarts) {
  std::thread restarter = restart_core_after(800ms);
  int rc = -1;
  json r = load("--window 10 --duration 5 --drain-timeout 2", rc);
  restarter.join();
  ASSERT_TRUE(r.is_object()) << load_err();
  EXPECT_EQ(r.value("fatal", std::string()).find("twice --drain-timeout"), std::string::npos)
      << "not ended as a server that is gone: " << r.dump();
  EXPECT_GE(r["elapsed_s"].get<double>(), 5.0) << r.dump();
  ASSERT_TRUE(test::comes_up(ctx_, eps_.command));
  const uint64_t ok = r["ok"].get<uint64_t>(), lost = r["lost"].get<uint64_t>();
  EXPECT_LE(lost, 10u) << r.dump();
  EXPECT_GE(head(), ok);
  EXPECT_LE(head(), ok + lost);
}

// Ctrl-C while the run waits for replies that do not come (rill-core
// stopped) ends it at once; it waited out --drain-timeout (30 s here).
TEST_F(load_smoke, AnInterruptDoesNotWaitForLostReplies) {
  std::thread stopper([this] {
    std::this_thread::sleep_for(700ms);
    core_.signal(SIGSTOP);
  });
  const auto t0 = std::chrono::steady_clock::now();
  int rc = -1;
  json r = load("--window 10 --duration 20 --drain-timeout 30", rc, "-s INT 2");
  const auto spent = std::chrono::steady_clock::now() - t0;
  stopper.join();
  core_.signal(SIGCONT);
  ASSERT_TRUE(r.is_object()) << load_err();
  EXPECT_EQ(r["interrupted"], true) << r.dump();
  EXPECT_LT(spent, 15s) << "a guard against waiting out the 30 s drain, not a speed figure";
  // Its message says so: it did not wait out --drain-timeout (it said it had).
  EXPECT_NE(load_err().find("before the run was interrupted"), std::string::npos) << load_err();
  EXPECT_EQ(load_err().find("within --drain-timeout"), std::string::npos) << load_err();
}

// --count is the number of commands, also with batches: the last request of
// a connection is a shorter batch (it rounded up to whole batches).
TEST_F(load_smoke, ACountWithBatchesSendsExactlyThatMany) {
  int rc = -1;
  json r = load("--count 10 --batch 3", rc);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(rc, 0) << r.dump();
  EXPECT_EQ(r["commands"], 10) << r.dump();
  EXPECT_EQ(r["requests"], 4) << r.dump();
  EXPECT_EQ(head(), 10u);
  // A run this short has no per-second figures: the plot says so instead
  // of drawing an axis "seconds (1..0)".
  const auto svg = dir_.path() / "short.svg";
  r = load("--count 50 --batch 16 --connections 3 --atomic --plot " + svg.string(), rc);
  std::ifstream in(svg);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().find("(1..0)"), std::string::npos);
  if (r.value("per_second", json::array()).empty()) {
    EXPECT_NE(text.str().find("too short"), std::string::npos) << text.str();
  }
  EXPECT_EQ(rc, 0) << r.dump();
  EXPECT_EQ(r["commands"], 50) << r.dump();
  EXPECT_EQ(head(), 60u);
}

// A --duration run counts its whole duration: an open loop at a low rate
// sends its last command well before the end (throughput was overstated).
// SIGINT ends a run early, and the report says so.
TEST_F(load_smoke, ElapsedCoversTheDurationAndAnInterruptedRunSaysSo) {
  int rc = -1;
  json r = load("--rate 2 --duration 1.5", rc);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(rc, 0) << r.dump();
  EXPECT_EQ(r["commands"], 3) << r.dump();
  EXPECT_GE(r["elapsed_s"].get<double>(), 1.5) << r.dump();
  EXPECT_EQ(r["interrupted"], false);
  EXPECT_EQ(r["unsent"], 0) << r.dump();

  r = load("--rate 100 --duration 20", rc, "-s INT 1");  // SIGINT after 1 s
  ASSERT_TRUE(r.is_object()) << load_err();
  EXPECT_EQ(r["interrupted"], true) << r.dump();
  EXPECT_LT(r["elapsed_s"].get<double>(), 10.0) << r.dump();
}

// Values that cannot mean anything are usage errors (an outside probe: a
// tiny --rate overflowed into a flood timed at 0 us, --drain-timeout nan
// blamed a healthy rill-core, --count 2^64 ran for ever). A plot path that
// cannot be written and a model that is not there are found before any
// command is sent.
TEST_F(load_smoke, BadValuesAreRefusedBeforeTheRun) {
  int rc = -1;
  for (const char* args :
       {"--rate 1e-300 --duration 1", "--rate nan --duration 1", "--rate inf --duration 1",
        "--rate -5", "--count 10 --drain-timeout 0", "--count 10 --drain-timeout -1",
        "--count 10 --drain-timeout nan", "--count 10 --drain-timeout 1e300", "--count 0",
        "--count 18446744073709551616", "--count -1", "--count 10 --mix create:50,create:50",
        "--count 10 --after-model ''", "--count 10 --notified ''"}) {
    load(args, rc);
    EXPECT_EQ(rc, 2) << args;
  }
  load("--count 10 --plot /nonexistent-dir/x.svg", rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(load_err().find("cannot write"), std::string::npos);
  load("--count 10 --after-model nosuch", rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(load_err().find("unknown_model"), std::string::npos) << load_err();
  EXPECT_EQ(head(), 0u) << "nothing was sent";
}

TEST_F(load_smoke, UsageErrorsAndNotRunning) {
  int rc = -1;
  load("--count 10 --mix create:50,update:20", rc);
  EXPECT_EQ(rc, 2);
  load("--count 10 --atomic", rc);
  EXPECT_EQ(rc, 2);
  load("--rate 1000 --spin-us 50", rc);  // spinning is for the closed loop
  EXPECT_EQ(rc, 2);
  load("--count 10 --spin-us 2000000", rc);
  EXPECT_EQ(rc, 2);
  core_.kill(SIGTERM);
  load("--count 10", rc);
  EXPECT_EQ(rc, 3);
}

}  // namespace
}  // namespace rill
