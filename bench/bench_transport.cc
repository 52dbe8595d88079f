// Raw ZeroMQ reference for `rill load`: a DEALER client and a ROUTER echo
// server over ipc in a temp dir, with no rill code in the path. What
// rill-core's round trip and pipelined throughput are compared against
// (bench/RESULTS.md).
//
//   BM_EchoRoundTrip/<busy_us>   one 100-byte message in flight; p50/p99 of the
//                                round trip as counters. The server is a
//                                thread of this process and shares its
//                                ZeroMQ context (one I/O thread for both
//                                ends). busy_us: the server spins on a
//                                non-blocking receive this long before
//                                blocking in zmq_poll (rill-core's
//                                --busy-poll-us; 0 = block at once).
//   BM_EchoRoundTripTwoProcesses/<busy_us>
//                                the same, with the server in a child
//                                process of its own (this binary run as
//                                `--echo-server EP BUSY_US`): two contexts,
//                                two I/O threads, as between `rill load`
//                                and rill-core.
//   BM_EchoPipelined/<window>    `window` messages in flight; messages/s.
#include <benchmark/benchmark.h>

#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <zmq.hpp>

namespace {

using clock_type = std::chrono::steady_clock;

// Echoes [id, body] on a ROUTER until *stop is set (never if stop is null).
// Spins on a non-blocking receive for busy_us before each blocking poll.
void serve_echo(zmq::socket_t& router, int busy_us, const std::atomic<bool>* stop) {
  zmq::message_t id, body;
  while (stop == nullptr || !stop->load(std::memory_order_relaxed)) {
    bool got = false;
    const auto spin_until = clock_type::now() + std::chrono::microseconds(busy_us);
    do {
      got = router.recv(id, zmq::recv_flags::dontwait).has_value();
    } while (!got && busy_us > 0 && clock_type::now() < spin_until);
    if (!got) {
      zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(50));
      continue;
    }
    (void)router.recv(body, zmq::recv_flags::none);
    router.send(id, zmq::send_flags::sndmore);
    router.send(body, zmq::send_flags::none);
  }
}

// A socket with no linger and no high-water marks (nothing dropped).
zmq::socket_t echo_socket(zmq::context_t& ctx, zmq::socket_type type) {
  zmq::socket_t s(ctx, type);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::sndhwm, 0);
  s.set(zmq::sockopt::rcvhwm, 0);
  return s;
}

zmq::socket_t echo_router(zmq::context_t& ctx, const std::string& ep) {
  zmq::socket_t router = echo_socket(ctx, zmq::socket_type::router);
  router.bind(ep);
  return router;
}

std::filesystem::path make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "rill-bench-zmq-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

class echo_server {
 public:
  echo_server(zmq::context_t& ctx, int busy_us) : ctx_(ctx), busy_us_(busy_us) {
    dir_ = make_temp_dir();
    endpoint_ = "ipc://" + (dir_ / "echo").string();
    zmq::socket_t router = echo_router(ctx_, endpoint_);
    thread_ = std::thread([this, r = std::move(router)]() mutable { loop(r); });
  }
  ~echo_server() {
    stop_.store(true);
    thread_.join();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& endpoint() const { return endpoint_; }

 private:
  void loop(zmq::socket_t& router) { serve_echo(router, busy_us_, &stop_); }

  zmq::context_t& ctx_;
  int busy_us_;
  std::filesystem::path dir_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

zmq::socket_t client(zmq::context_t& ctx, const std::string& ep) {
  zmq::socket_t s = echo_socket(ctx, zmq::socket_type::dealer);
  s.connect(ep);
  return s;
}

// One 100-byte message in flight on s, as many times as the state asks;
// p50/p99 of the round trip and messages/s as counters.
void measure_round_trips(benchmark::State& state, zmq::socket_t& s) {
  const std::string payload(100, 'x');
  zmq::message_t reply;
  std::vector<double> rtt;
  rtt.reserve(1 << 20);
  for (int i = 0; i < 100; ++i) {  // warm up the connection
    s.send(zmq::buffer(payload), zmq::send_flags::none);
    (void)s.recv(reply);
  }
  for (auto _ : state) {
    const auto t0 = clock_type::now();
    s.send(zmq::buffer(payload), zmq::send_flags::none);
    (void)s.recv(reply);
    rtt.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
  }
  std::sort(rtt.begin(), rtt.end());
  auto pct = [&](double q) { return rtt.empty() ? 0.0 : rtt[static_cast<size_t>(q * (rtt.size() - 1))]; };
  state.counters["p50_us"] = pct(0.5);
  state.counters["p99_us"] = pct(0.99);
  state.counters["msgs_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                    benchmark::Counter::kIsRate);
}

void BM_EchoRoundTrip(benchmark::State& state) {
  zmq::context_t ctx;
  echo_server server(ctx, static_cast<int>(state.range(0)));
  auto s = client(ctx, server.endpoint());
  measure_round_trips(state, s);
}
BENCHMARK(BM_EchoRoundTrip)->Arg(0)->Arg(50)->UseRealTime()->MinTime(2.0);

// The echo server in a child process: this binary run as
// `--echo-server EP BUSY_US` (see main). Killed and reaped by pid.
class echo_process {
 public:
  explicit echo_process(int busy_us) {
    dir_ = make_temp_dir();
    endpoint_ = "ipc://" + (dir_ / "echo").string();
    const std::string busy = std::to_string(busy_us);
    char arg0[] = "bench_transport";
    char flag[] = "--echo-server";
    char* argv[] = {arg0, flag, endpoint_.data(), const_cast<char*>(busy.c_str()), nullptr};
    if (::posix_spawn(&pid_, "/proc/self/exe", nullptr, nullptr, argv, environ) != 0) std::abort();
  }
  ~echo_process() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& endpoint() const { return endpoint_; }

 private:
  std::filesystem::path dir_;
  std::string endpoint_;
  pid_t pid_ = -1;
};

void BM_EchoRoundTripTwoProcesses(benchmark::State& state) {
  echo_process server(static_cast<int>(state.range(0)));
  zmq::context_t ctx;
  auto s = client(ctx, server.endpoint());  // ZeroMQ reconnects until the child has bound
  measure_round_trips(state, s);
}
BENCHMARK(BM_EchoRoundTripTwoProcesses)->Arg(0)->Arg(50)->UseRealTime()->MinTime(2.0);

void BM_EchoPipelined(benchmark::State& state) {
  zmq::context_t ctx;
  echo_server server(ctx, 50);
  auto s = client(ctx, server.endpoint());
  const size_t window = static_cast<size_t>(state.range(0));
  const std::string payload(100, 'x');
  zmq::message_t reply;
  size_t in_flight = 0;
  for (auto _ : state) {
    while (in_flight >= window) {
      (void)s.recv(reply);
      --in_flight;
    }
    s.send(zmq::buffer(payload), zmq::send_flags::none);
    ++in_flight;
  }
  while (in_flight > 0) {
    (void)s.recv(reply);
    --in_flight;
  }
  state.counters["msgs_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                    benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EchoPipelined)->Arg(1000)->UseRealTime()->MinTime(2.0);

// The child of echo_process: serve until killed, and die with the parent.
int run_echo_server(const char* endpoint, const char* busy_us) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() == 1) return 1;
  zmq::context_t ctx;
  zmq::socket_t router = echo_router(ctx, endpoint);
  serve_echo(router, std::atoi(busy_us), nullptr);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string_view(argv[1]) == "--echo-server")
    return run_echo_server(argv[2], argv[3]);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
