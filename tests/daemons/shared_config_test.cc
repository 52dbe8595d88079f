// One config file for every daemon (daemons/common/shared_config.h): each
// daemon applies its own keys, passes over the other daemons' keys and
// sections, refuses a key no daemon has, and lets its flags win over the
// file. Every daemon runs as a child process on a temporary data directory.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "tests/support/child_process.h"
#include "transport/endpoints.h"

namespace rill {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// One request on a fresh DEALER (with the empty delimiter when `rep`, as a
// REQ would send); the decoded reply, or a discarded json on timeout.
json ask(zmq::context_t& ctx, const std::string& endpoint, const json& request, bool rep = false,
         std::chrono::milliseconds timeout = 300ms) {
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(endpoint);
  if (rep) s.send(zmq::str_buffer(""), zmq::send_flags::sndmore);
  const auto body = json::to_msgpack(request);
  s.send(zmq::buffer(body.data(), body.size()));
  zmq::pollitem_t item{static_cast<void*>(s), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, timeout) <= 0) return json::value_t::discarded;
  zmq::message_t m;
  if (rep) {
    if (!s.recv(m) || m.size() != 0) return json::value_t::discarded;  // the delimiter
  }
  if (!s.recv(m)) return json::value_t::discarded;
  return json::from_msgpack(m.data<uint8_t>(), m.data<uint8_t>() + m.size(), true, false);
}

std::string bin(const char* name) {
  return std::string(RILL_BIN_DIR) + "/" + name;
}

// Every daemon's keys at the top level and in its section, as `rill up
// --config` hands them out.
json shared_file(const std::filesystem::path& data) {
  return json{
      {"_doc", "a comment"},
      {"log_level", "warn"},  // every daemon has it
      {"sync", "batch"},      // rill-core
      {"max_batch", 512},
      {"expiry_ms", 4000},  // rill-notify
      {"delay_ms", 0},      // rill-rates
      {"rates_file", (data.parent_path() / "rates.json").string()},
      {"data", (data.parent_path() / "ignored-the-flag-wins").string()},
      {"core", {{"max_keys", 5000}}},
      {"proj", {{"snapshot_every", 5000}}},
      {"notify", {{"client_queue", 7}}},
      {"rates", {{"fail_every", 0}}},
      {"models", {{"customers", {{"list_default_limit", 5}}}}},
  };
}

TEST(SharedConfig, EveryDaemonStartsWithOneFileAndAppliesItsOwnKeys) {
  test::temp_dir dir("rill-shared-config");
  const auto data = dir.path() / "data";
  const auto file = dir.path() / "rill.json";
  std::ofstream(file) << shared_file(data).dump(2);
  std::ofstream(dir.path() / "rates.json") << R"({"anchor": "EUR", "rates": {"USD": 4.0}})";
  const auto eps = transport::default_endpoints(data);
  const auto model_ep = transport::default_model_endpoint(data, "customers");
  const std::string rates_ep = "ipc://" + (transport::run_dir(data) / "rates").string();
  const std::vector<std::string> common = {"--data", data.string(), "--config", file.string()};
  auto argv = [&](const char* name, std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {bin(name)};
    a.insert(a.end(), common.begin(), common.end());
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  test::child_process core(argv("rill-core", {"--max-batch", "64"}),
                           (dir.path() / "core.log").string());
  test::child_process notify(argv("rill-notify"), (dir.path() / "notify.log").string());
  test::child_process rates(argv("rill-rates"), (dir.path() / "rates.log").string());
  test::child_process proj(argv("rill-proj", {"--models", "customers"}),
                           (dir.path() / "proj.log").string());
  zmq::context_t ctx;
  // The first ok reply of a daemon that has come up, or a discarded json.
  auto answer = [&](const std::string& ep, const json& request, bool rep = false) {
    json reply;
    test::eventually(
        [&] {
          reply = ask(ctx, ep, request, rep);
          return reply.is_object() && reply.value("ok", false);
        },
        20s);
    return reply;
  };
  const json core_status = answer(eps.command, {{"op", "status"}});
  const json notify_status = answer(eps.notify, {{"op", "status"}});
  const json rate = answer(rates_ep, {{"base", "EUR"}, {"currency", "USD"}}, true);
  const json model_status = answer(model_ep, {{"model", "customers"}, {"q", "status"}});
  ASSERT_TRUE(core_status.is_object()) << "rill-core did not come up";
  ASSERT_TRUE(notify_status.is_object()) << "rill-notify did not come up";
  ASSERT_TRUE(rate.is_object()) << "rill-rates did not come up";
  ASSERT_TRUE(model_status.is_object()) << "rill-proj did not come up";
  EXPECT_EQ(core_status.value("sync", ""), "batch") << core_status.dump();
  EXPECT_EQ(notify_status.value("expiry_ms", 0), 4000) << notify_status.dump();
  EXPECT_EQ(notify_status.value("client_queue", 0), 7) << notify_status.dump();
  EXPECT_DOUBLE_EQ(rate.value("rate", 0.0), 0.25) << "the file's rates_file" << rate.dump();

  // The "data" key lost to --data everywhere: nothing was made there.
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "ignored-the-flag-wins"));
  // --max-batch 64 won over the file's 512: a batch of 65 is too_large.
  json batch = {{"batch", json::array()}, {"req", 1}};
  for (int i = 0; i < 65; ++i)
    batch["batch"].push_back({{"cmd", "CREATE_CUSTOMER"},
                              {"agg", "customer"},
                              {"id", "c" + std::to_string(i)},
                              {"data", {{"name", "N"}, {"email", "n@example.com"}}}});
  EXPECT_EQ(ask(ctx, eps.command, batch, false, 5s).value("error", ""), "too_large");
  batch["batch"].erase(batch["batch"].end() - 1);
  EXPECT_EQ(ask(ctx, eps.command, batch, false, 5s).value("ok", false), true);

  for (auto* p : {&proj, &rates, &notify, &core}) {
    const int st = p->kill(SIGTERM);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  }
}

TEST(SharedConfig, AKeyNoDaemonHasOrOfTheWrongTypeIsRefused) {
  test::temp_dir dir("rill-shared-config");
  const auto file = dir.path() / "rill.json";
  const auto log = dir.path() / "bad.log";
  struct bad_file {
    const char* text;
    std::vector<const char*> refused_by;  // the others pass over it
    const char* says = "unknown option";
  };
  const std::vector<bad_file> cases = {
      {R"({"snc": "batch"})", {"rill-core", "rill-notify", "rill-rates", "rill-proj"}},
      {R"({"core": {"expiry_ms": 5}})", {"rill-core"}},
      {R"({"notify": {"sync": "batch"}})", {"rill-notify"}},
      {R"({"rates": {"max_batch": 5}})", {"rill-rates"}},
      {R"({"proj": {"delay_ms": 5}})", {"rill-proj"}},
      // Neither an endpoint string nor rill-rates' section.
      {R"({"rates": 5})", {"rill-rates", "rill-proj"}, "wrong type"},
  };
  for (const auto& c : cases) {
    std::ofstream(file) << c.text;
    for (const char* name : c.refused_by) {
      std::filesystem::remove(log);
      std::vector<std::string> argv = {bin(name), "--data", (dir.path() / "data").string(),
                                       "--config", file.string()};
      if (name == std::string("rill-proj")) argv.insert(argv.end(), {"--models", "customers"});
      test::child_process p(argv, log.string());
      const int st = p.wait(20s);
      EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << name << " " << c.text << " " << st;
      std::ifstream in(log);
      const std::string text((std::istreambuf_iterator<char>(in)), {});
      EXPECT_NE(text.find(c.says), std::string::npos) << name << ": " << text;
    }
  }
}

// A count, size or interval is a whole number that fits its field, on the
// command line and in the config file: -1 does not wrap to 2^64-1, 1.5 is
// not cut to 1, 2^40 is not cut to 32 bits. Each is refused (exit 2) with
// the option named.
TEST(SharedConfig, ANumberThatIsNotAWholeNumberOfItsFieldIsRefused) {
  test::temp_dir dir("rill-numbers");
  const auto file = dir.path() / "rill.json";
  const auto log = dir.path() / "bad.log";
  struct bad_number {
    const char* daemon;
    std::vector<std::string> flags;  // empty: the config file below
    std::string file_text;
    const char* names;  // the option, in the message
    const char* says = "whole number";
  };
  const std::vector<bad_number> cases = {
      {"rill-rates", {"--fail-every", "-1"}, "", "--fail-every"},
      {"rill-rates", {"--delay-ms", "1.5"}, "", "--delay-ms"},
      {"rill-rates", {}, R"({"rates": {"fail_every": -1}})", "fail_every"},
      {"rill-core", {"--max-batch", "-5"}, "", "--max-batch"},
      {"rill-core", {"--busy-poll-us", "4294967296"}, "", "--busy-poll-us"},
      {"rill-core", {}, R"({"core": {"max_batch": -5}})", "max_batch"},
      {"rill-core",
       {},
       R"({"core": {"checkpoint_interval_s": 1099511627776}})",
       "checkpoint_interval_s"},
      {"rill-core", {}, R"({"max_keys": 2.5})", "max_keys"},
      {"rill-notify", {"--batch", "-1"}, "", "--batch"},
      {"rill-notify", {}, R"({"notify": {"batch": -1}})", "batch"},
      {"rill-proj", {"--snapshot-every", "-1"}, "", "--snapshot-every"},
      {"rill-proj", {}, R"({"proj": {"rebuild_threads": 4294967296}})", "rebuild_threads"},
      // Whole, but more request slots than rill-core can allocate at start
      // (it was a bad_alloc, exit 1, restarted for ever by rill up).
      {"rill-core", {}, R"({"drain_max": 4294967296})", "drain_max", "1..100000"},
      // A boolean flag is a boolean (CLI11 took -1 and 2).
      {"rill-proj", {"--final-snapshot", "-1"}, "", "--final-snapshot", "not in"},
      {"rill-proj", {"--snapshot-fork", "2"}, "", "--snapshot-fork", "not in"},
  };
  for (const auto& c : cases) {
    std::filesystem::remove(log);
    std::vector<std::string> argv = {bin(c.daemon), "--data", (dir.path() / "data").string()};
    if (c.daemon == std::string("rill-proj"))
      argv.insert(argv.end(), {"--models", "customers", "--notify-in", "none"});
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    if (c.flags.empty()) {
      std::ofstream(file, std::ios::trunc) << c.file_text;
      argv.insert(argv.end(), {"--config", file.string()});
    }
    test::child_process p(argv, log.string());
    const int st = p.wait(20s);
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    const std::string what = std::string(c.daemon) + " " +
                             (c.flags.empty() ? c.file_text : c.flags[0] + " " + c.flags[1]);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << what << ": status " << st << "\n" << text;
    EXPECT_NE(text.find(c.names), std::string::npos) << what << ": " << text;
    EXPECT_NE(text.find(c.says), std::string::npos) << what << ": " << text;
  }
}

}  // namespace
}  // namespace rill
