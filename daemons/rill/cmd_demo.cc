// rill demo: the example scenario of the default domain, step by step,
// against the rill running for --data, or one started for it in a temporary
// directory (stopped and removed at the end).
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemons/rill/commands.h"
#include "daemons/rill/demo_scenario.h"
#include "daemons/rill/demo_session.h"
#include "daemons/rill/interrupt.h"
#include "daemons/rill/probe.h"
#include "daemons/rill/process_util.h"
#include "daemons/rill/run_lock.h"
#include "transport/endpoints.h"
#include "transport/security.h"

namespace rill::cli {

namespace {

struct demo_flags {
  bool keep = false;
  int64_t step_timeout_ms = 15000;
};

// Runs this same `rill` executable with `args`; returns its exit code.
int run_self(const std::vector<std::string>& args, bool silence_stdout) {
  std::vector<std::string> argv_s = {"/proc/self/exe"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::cout.flush();
  pid_t pid = ::fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (silence_stdout) ::dup2(STDERR_FILENO, STDOUT_FILENO);
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A short id suffix, so that a demo against a rill holding data creates new aggregates.
std::string run_tag() {
  const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
  uint64_t v = now_ns() / 1'000'000;
  std::string s;
  for (int i = 0; i < 7; ++i, v /= 36) s.insert(s.begin(), digits[v % 36]);
  return s;
}

bool rill_answers(zmq::context_t& ctx, const std::filesystem::path& data) {
  auto t = status_target(data, "rill-core", daemon_kind::core, "");
  // A tcp:// rill-core without keys: bad_key (exit 2), nothing sent.
  transport::require_client_keys(t.endpoint, client_security());
  return probe_all(ctx, {t}, std::chrono::milliseconds(2000))[0].answered;
}

int play(global_options& g, const demo_flags& f, interrupt_fd& intr, zmq::context_t& ctx,
         const std::filesystem::path& data, bool own) {
  demo_session s(ctx, intr, data, std::chrono::milliseconds(f.step_timeout_ms), g.json);
  std::string error;
  if (!s.connect(error)) return not_running(g, error);
  const std::string tag = s.head_at_start() > 0 ? run_tag() : "";
  const demo_cast cast = make_demo_cast(tag);
  if (!g.json) {
    std::cout << "rill demo against " << data.string()
              << (own ? " (a rill started for this demo)" : "") << ", journal head "
              << s.head_at_start();
    if (!tag.empty()) std::cout << "; ids end in -" << tag;
    std::cout << std::endl;
  }
  demo_progress p;
  p.last_seq = s.head_at_start();
  using step_fn = void (*)(demo_session&, const demo_cast&, demo_progress&);
  const step_fn steps[] = {demo_create, demo_rates,    demo_ratings,
                           demo_notify, demo_campaign, demo_final_state};
  bool interrupted = false;
  for (auto step : steps) {
    if (s.interrupted()) {
      interrupted = true;
      break;
    }
    step(s, cast, p);
  }
  const bool ok = s.failures().empty() && !interrupted;
  const std::string failed = interrupted
                                 ? "interrupted after " + std::to_string(s.checks()) + " checks"
                                 : std::to_string(s.failures().size()) + " of " +
                                       std::to_string(s.checks()) + " checks failed";
  if (g.json) {
    auto& r = s.report();
    r["ok"] = ok;
    if (!ok) {  // like every CLI error (docs/cli.md)
      r["error"] = "demo_failed";
      r["message"] = failed;
    }
    r["data"] = data.string();
    r["checks"] = s.checks();
    r["failures"] = s.failures();
    r["interrupted"] = interrupted;
    std::cout << r.dump() << std::endl;
  } else {
    std::cout << "\n";
    if (interrupted) std::cout << "Interrupted.\n";
    if (ok) {
      std::cout << "All " << s.checks() << " checks passed." << std::endl;
    } else {
      std::cout << s.failures().size() << " of " << s.checks() << " checks failed:\n";
      for (const auto& x : s.failures()) std::cout << "  - " << x << '\n';
      std::cout.flush();
    }
  }
  return ok ? exit_ok : report("demo_failed", failed, exit_refused);
}

int run_demo(global_options& g, const demo_flags& f) {
  if (f.step_timeout_ms <= 0) return usage_error("demo", "--step-timeout-ms must be positive");
  interrupt_fd intr;  // before the zmq context (signal mask)
  zmq::context_t ctx;
  std::filesystem::path data = g.data_dir();
  bool own = false;
  if (!rill_answers(ctx, data)) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rill-demo-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      return report("demo_failed", "cannot create a temporary directory", exit_refused);
    data = tmpl;
    own = true;
    if (!g.json)
      std::cout << "No rill is running for " << g.data_dir().string() << ": starting one in "
                << data.string() << std::endl;
    int rc = run_self({"up", "--detach", "--data", data.string()}, g.json);
    if (rc != 0) {
      run_self({"down", "--data", data.string()}, true);
      if (!f.keep) {
        std::error_code ec;
        std::filesystem::remove_all(data, ec);
      }
      return report("demo_failed", "could not start rill for the demo", exit_refused);
    }
  }
  int rc = play(g, f, intr, ctx, data, own);
  if (own) {
    if (!g.json) std::cout << "\nStopping the demo's rill." << std::endl;
    run_self({"down", "--data", data.string()}, true);
    if (f.keep) {
      if (!g.json) std::cout << "Kept its data directory: " << data.string() << std::endl;
    } else {
      std::error_code ec;
      std::filesystem::remove_all(data, ec);
    }
  }
  return rc;
}

}  // namespace

void add_demo_command(CLI::App& app, global_options& g) {
  auto f = std::make_shared<demo_flags>();
  auto* sub = app.add_subcommand(
      "demo",
      "The example scenario (DOMAIN.md), step by step, against the running rill (or one started "
      "in a temporary directory)");
  add_global_flags(*sub, g);
  sub->add_flag("--keep", f->keep,
                "Keep the temporary data directory of a rill started for the demo");
  sub->add_option("--step-timeout-ms", f->step_timeout_ms,
                  "How long each step may wait for what it expects (default 15000)");
  sub->footer(
      "Exit status: 0 when every step's expectation held, 1 otherwise, 3 if rill does not answer.");
  sub->callback([&g, f] { g.exit = run_demo(g, *f); });
}

}  // namespace rill::cli
