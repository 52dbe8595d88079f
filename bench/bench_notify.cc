// Change-notification fan-out.
//
//   BM_notify_fanout/N      the real rill-notify (started from this binary's
//                           directory on a temporary data dir): one change
//                           report pushed to notify-in, time until the last of
//                           N watching DEALER clients (in this process, one
//                           thread polling them all) has its note. ipc://.
//   BM_registry_fanout/N    the registry alone: report + flush of one change
//                           to N watchers into a sink that discards (no sockets).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "core/buffer.h"
#include "transport/endpoints.h"
#include "transport/notifier_codec.h"
#include "transport/notifier_registry.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using json = nlohmann::json;

std::string pack(const json& j) {
  auto v = json::to_msgpack(j);
  return std::string(v.begin(), v.end());
}

// rill-notify as a child process on its own temporary data directory.
class notifier_process {
 public:
  notifier_process() {
    std::string tmpl = (fs::temp_directory_path() / "rill-bench-notify-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return;
    dir_ = tmpl;
    const fs::path bin = fs::read_symlink("/proc/self/exe").parent_path() / "rill-notify";
    const std::string data = dir_.string();
    const std::string log = (dir_ / "notify.log").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      FILE* f = std::fopen(log.c_str(), "a");
      if (f != nullptr) {
        ::dup2(fileno(f), 1);
        ::dup2(fileno(f), 2);
      }
      ::execl(bin.c_str(), bin.c_str(), "--data", data.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~notifier_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  const fs::path& dir() const { return dir_; }
  bool alive() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  // CPU seconds (user + system) the notifier has used so far, all threads.
  double cpu_seconds() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t close = text.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14, 15: utime, stime
      if (i == 14) utime = std::stod(field);
      if (i == 15) stime = std::stod(field);
    }
    return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
};

bool recv_one(zmq::socket_t& s, json& out, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, timeout) == 0) return false;
  zmq::message_t m;
  if (!s.recv(m, zmq::recv_flags::dontwait)) return false;
  out = json::from_msgpack(static_cast<const uint8_t*>(m.data()),
                           static_cast<const uint8_t*>(m.data()) + m.size(), true, false);
  return true;
}

void BM_notify_fanout(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  notifier_process notifier;
  zmq::context_t ctx;
  ctx.set(zmq::ctxopt::max_sockets, clients + 64);
  const auto eps = rill::transport::default_endpoints(notifier.dir());
  // Wait until it answers.
  bool up = false;
  for (int i = 0; i < 200 && !up && notifier.alive(); ++i) {
    zmq::socket_t probe(ctx, zmq::socket_type::dealer);
    probe.set(zmq::sockopt::linger, 0);
    probe.connect(eps.notify);
    probe.send(zmq::buffer(pack({{"op", "ping"}})), zmq::send_flags::none);
    json r;
    up = recv_one(probe, r, 100ms) && r.value("ok", false);
  }
  if (!up) {
    state.SkipWithError("rill-notify did not start (is it built next to this benchmark?)");
    return;
  }
  std::vector<zmq::socket_t> socks;
  socks.reserve(clients);
  for (int i = 0; i < clients; ++i) {
    socks.emplace_back(ctx, zmq::socket_type::dealer);
    socks.back().set(zmq::sockopt::linger, 0);
    socks.back().connect(eps.notify);
    socks.back().send(zmq::buffer(pack({{"op", "watch"}, {"model", "customers"}, {"key", "hot"}})),
                      zmq::send_flags::none);
  }
  for (auto& s : socks) {
    json r;
    if (!recv_one(s, r, 10s) || !r.value("ok", false)) {
      state.SkipWithError("a watch was not acknowledged");
      return;
    }
  }
  zmq::socket_t push(ctx, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 0);
  push.connect(eps.notify_in);

  std::vector<zmq::pollitem_t> items;
  for (auto& s : socks) items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
  std::vector<char> got(clients);
  uint64_t seq = 0;
  zmq::message_t m;
  const double cpu_before = notifier.cpu_seconds();
  for (auto _ : state) {
    ++seq;
    std::fill(got.begin(), got.end(), 0);
    int received = 0;
    push.send(zmq::buffer(pack({{"model", "customers"}, {"keys", {"hot"}}, {"seq", seq}})),
              zmq::send_flags::none);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (received < clients) {
      zmq::poll(items.data(), items.size(), 10ms);
      for (int i = 0; i < clients; ++i) {
        if (!(items[i].revents & ZMQ_POLLIN)) continue;
        while (socks[i].recv(m, zmq::recv_flags::dontwait)) {
          if (!got[i]) {
            got[i] = 1;
            ++received;
          }
        }
      }
      if (std::chrono::steady_clock::now() > deadline) {
        state.SkipWithError("notes missing after 10 s");
        return;
      }
    }
  }
  state.counters["notes/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * clients,
                                                 benchmark::Counter::kIsRate);
  // The notifier's own CPU per fan-out (its loop and its libzmq I/O thread).
  state.counters["notifier_cpu_us"] =
      (notifier.cpu_seconds() - cpu_before) * 1e6 / static_cast<double>(state.iterations());
}
BENCHMARK(BM_notify_fanout)->Arg(1000)->Arg(5000)->Unit(benchmark::kMicrosecond)->UseRealTime();

class null_sink : public rill::transport::note_sink {
 public:
  rill::transport::send_result send(std::string_view, bool,
                                    const rill::transport::pending_note& n) override {
    if (n.id != last_) {  // encode each distinct note once, as rill-notify does
      buf_.clear();
      rill::transport::notify::encode_note(buf_, n.model, n.key, n.seq);
      last_ = n.id;
    }
    benchmark::DoNotOptimize(buf_.data());
    return rill::transport::send_result::sent;
  }

 private:
  rill::out_buffer buf_;
  uint32_t last_ = UINT32_MAX;
};

void BM_registry_fanout(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  rill::transport::registry_limits lim;
  lim.max_clients = clients;
  rill::transport::notifier_registry reg(lim);
  const auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < clients; ++i) {
    auto id = reg.add("client-" + std::to_string(i), false, now);
    reg.watch(id, "customers", i % 2 ? std::optional<std::string_view>("hot") : std::nullopt);
  }
  null_sink sink;
  const std::string_view keys[] = {"hot"};
  uint64_t seq = 0;
  for (auto _ : state) {
    reg.report("customers", keys, ++seq);
    reg.flush(sink);
  }
  state.counters["notes/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * clients,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_registry_fanout)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
