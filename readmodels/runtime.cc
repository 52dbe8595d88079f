#include "readmodels/runtime.h"

#include <optional>
#include <set>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "readmodels/event_source_journal.h"
#include "readmodels/event_source_replay.h"
#include "readmodels/projector.h"
#include "readmodels/runtime_bell_watch.h"
#include "readmodels/runtime_feed.h"
#include "transport/security.h"

namespace rill::readmodels {

namespace {

std::vector<std::string> names_of(const std::vector<std::unique_ptr<read_model>>& models) {
  std::vector<std::string> names;
  for (const auto& m : models) {
    if (!m) throw std::invalid_argument("a model is missing (null)");
    names.emplace_back(m->name());
  }
  return names;
}

bool model_name_ok(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

runtime::runtime(runtime_options opt, std::vector<std::unique_ptr<read_model>> models)
    : models_(std::move(models)) {
  if (models_.empty()) throw std::invalid_argument("models: at least one model is needed");
  const auto names = names_of(models_);
  std::set<std::string> seen;
  for (const auto& n : names) {
    if (!model_name_ok(n))
      throw std::invalid_argument("model name '" + n + "': use 1..64 of [A-Za-z0-9_-]");
    if (!seen.insert(n).second) throw std::invalid_argument("model " + n + " is listed twice");
  }
  opt.validate();
  opt_ = opt.resolved(names);
  for (const auto& [m, ep] : opt_.model_endpoints) {
    if (!seen.contains(m))
      throw std::invalid_argument("model endpoint for " + m + ": no such model hosted");
  }
}

runtime::~runtime() {
  stop();
}

void runtime::stop() {
  stop_.store(true, std::memory_order_relaxed);
  bell_.ring_always();
}

bool runtime::local_source() const {
  if (opt_.source == "journal") return true;
  if (opt_.source == "replay") return false;
  if (transport::is_tcp(opt_.replay_endpoint)) return false;
  const auto dir = opt_.data_dir / "journal";
  std::error_code ec;
  // A journal that does not exist yet will appear there (rill-core creates
  // it); one that exists but cannot be read belongs to another host or user.
  if (!std::filesystem::exists(dir, ec)) return true;
  return journal_readable(dir);
}

int runtime::run() {
  if (ran_) throw std::logic_error("runtime::run() called twice");
  ran_ = true;
  std::unique_ptr<transport::zap_handler> zap;
  std::unique_ptr<transport::server_security> server_sec;
  std::unique_ptr<transport::client_security> client_sec;
  try {
    bool tcp_server = false;
    for (const auto& [m, ep] : opt_.model_endpoints) tcp_server |= transport::is_tcp(ep);
    // An allow-list is read (and refused if bad) even when no query endpoint
    // is tcp://, like rill-core's and rill-rates': a bad file is a mistake
    // to report now, not when the endpoint moves to tcp:// one day.
    if (!opt_.curve_allow_file.empty()) (void)transport::load_allow_list(opt_.curve_allow_file);
    if (!opt_.curve_key_file.empty()) {
      const auto keys = transport::load_key_file(opt_.curve_key_file);
      if (tcp_server) {
        if (keys.secret_z85.empty())
          throw transport::security_error(opt_.curve_key_file + ": holds no secret key");
        server_sec = std::make_unique<transport::server_security>();
        server_sec->server = keys;
        if (!opt_.curve_allow_file.empty())
          server_sec->allowed = transport::load_allow_list(opt_.curve_allow_file);
        if (server_sec->allowed.empty())
          throw transport::security_error(
              "a tcp:// query endpoint needs an allow-list of client keys (--curve-allow) that "
              "lists at least one");
        zap = std::make_unique<transport::zap_handler>(ctx_, server_sec->allowed);
      }
      if (!opt_.curve_server_key_file.empty()) {
        client_sec = std::make_unique<transport::client_security>();
        client_sec->client = keys;
        client_sec->server_public_z85 =
            transport::load_public_key_file(opt_.curve_server_key_file).public_z85;
      }
    }
    if (tcp_server && !server_sec)
      throw transport::security_error(
          "a tcp:// query endpoint needs --curve-key (and --curve-allow)");
  } catch (const transport::security_error& e) {
    // Keys or CURVE configuration: the same at every start, so status 2
    // (configuration refused; daemons/common/exit_codes.h), not restarted.
    spdlog::critical("cannot start: {}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }

  const bool local = local_source();
  const auto journal_dir = opt_.data_dir / "journal";
  replay_options ro;
  ro.endpoint = opt_.replay_endpoint;
  ro.page = opt_.replay_page;
  ro.timeout = opt_.replay_timeout;
  const transport::client_security* csec = client_sec.get();
  event_source_factory factory = [this, local, journal_dir, ro,
                                  csec]() -> std::unique_ptr<event_source> {
    if (local) return std::make_unique<event_source_journal>(journal_dir);
    return std::make_unique<event_source_replay>(ctx_, ro, csec);
  };

  // Subscribe first, then catch up (the clone pattern).
  feed_options fo;
  fo.endpoint = opt_.events_endpoint;
  fo.queue_capacity = opt_.feed_queue;
  feed_receiver feed(ctx_, fo, bell_, csec);
  feed.start();
  // A local journal wakes the projector through its bell, sooner and for
  // less CPU than the feed, which is unsubscribed while the bell is there.
  std::optional<bell_watch> watch;
  if (local) {
    watch.emplace(
        journal_dir, bell_, [&feed](bool attached) { feed.set_subscribed(!attached); },
        opt_.wake_coalesce);
    watch->start();
  }

  projector_env env;
  env.ctx = &ctx_;
  env.feed = &feed;
  env.bell = &bell_;
  env.watch = watch ? &*watch : nullptr;
  env.source = factory;
  env.local_source = local;
  env.server_sec = server_sec.get();
  env.client_sec = csec;
  env.ready = &ready_;
  int rc = 1;
  {
    projector p(opt_, std::move(models_), env);
    spdlog::info("rill-proj runtime: data {}, events {}, source {}", opt_.data_dir.string(),
                 opt_.events_endpoint, local ? journal_dir.string() : opt_.replay_endpoint);
    rc = p.run(stop_);
  }
  if (watch) watch->stop();
  feed.stop();
  ready_.store(false, std::memory_order_release);
  return rc;
}

}  // namespace rill::readmodels
