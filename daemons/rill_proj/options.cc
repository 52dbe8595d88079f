#include "daemons/rill_proj/options.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <type_traits>

#include <CLI/CLI.hpp>

#include "daemons/common/shared_config.h"
#include "daemons/common/whole_number.h"
#include "transport/endpoints.h"

namespace rill::proj {
namespace {

using json = nlohmann::json;
using setter = std::function<void(const json&)>;

// Top-level keys of a shared config file that rill-proj applies. Another
// daemon's keys (daemons/common/shared_config.h) are passed over; a key no
// daemon has is refused. rill-proj's other options live in "proj".
const std::set<std::string> kSharedKeys = {"data",  "events",    "replay", "command",
                                           "rates", "notify_in", "models", "model_endpoints"};

bool log_level_ok(const std::string& l) {
  return l == "trace" || l == "debug" || l == "info" || l == "warn" || l == "error";
}

std::vector<std::string> split_models(const std::vector<std::string>& raw) {
  std::vector<std::string> out;
  for (const auto& item : raw) {
    size_t at = 0;
    while (at <= item.size()) {
      const size_t comma = item.find_first_of(",+", at);
      std::string name =
          item.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      if (!name.empty()) out.push_back(name);
      if (comma == std::string::npos) break;
      at = comma + 1;
    }
  }
  return out;
}

}  // namespace

std::string pid_file_name(const std::vector<std::string>& models) {
  std::string s = "rill-proj-";
  for (size_t i = 0; i < models.size(); ++i) {
    if (i > 0) s += '+';
    s += models[i];
  }
  return s + ".pid";
}

int parse_proj_options(int argc, char** argv, proj_options& o) {
  CLI::App app{
      "rill-proj: hosts read models and sagas. Applies the event feed in seq order "
      "(catching up from the journal), answers queries on model.<name>, reports "
      "changes to the notifier, snapshots state to D/models/<name>/."};
  auto& rt = o.rt;
  std::string config, data;
  std::vector<std::string> raw_models, model_eps;
  uint64_t tail_ms = 0, replay_check_ms = 0, idle_spin_us = 0, wake_coalesce_us = 0,
           saga_tick_ms = 0, replay_timeout_ms = 0, max_request_bytes = 0;
  tail_ms = static_cast<uint64_t>(rt.tail_check_interval.count());
  replay_check_ms = static_cast<uint64_t>(rt.replay_check_interval.count());
  idle_spin_us = static_cast<uint64_t>(rt.idle_spin.count());
  wake_coalesce_us = static_cast<uint64_t>(rt.wake_coalesce.count());
  saga_tick_ms = static_cast<uint64_t>(rt.saga_tick_interval.count());
  replay_timeout_ms = static_cast<uint64_t>(rt.replay_timeout.count());
  max_request_bytes = rt.query_limits.max_request_bytes;

  // Every option: a flag bound to the field, and a setter for the config file
  // that applies only when the flag was not given.
  std::map<std::string, setter> from_file;
  std::map<std::string, std::string> flag_of;
  auto add = [&](const std::string& key, auto& field, const std::string& help) {
    std::string flag = "--" + key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    using T = std::remove_reference_t<decltype(field)>;
    auto* opt = app.add_option(flag, field, help);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
      rill::daemon::whole_number_flag<T>(opt);
    if constexpr (std::is_same_v<T, bool>)  // CLI11 takes -1, 2 and '' too
      opt->check(CLI::IsMember({"true", "false", "1", "0", "yes", "no", "on", "off"}));
    flag_of[key] = flag;
    from_file[key] = [&field, key](const json& v) {
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        try {
          field = rill::daemon::whole_number_from_json<T>(v);
        } catch (const std::domain_error& e) {
          throw std::runtime_error("option '" + key + "' " + e.what());
        }
      } else {
        field = v.get<T>();
      }
    };
  };
  app.add_option("--config", config, "JSON config file (flags override it)");
  app.add_option("--data", data, "data directory D (default ./rill-data)");
  app.add_option("--models", raw_models,
                 "read models to host, comma-separated (e.g. customers,orders)");
  add("events", rt.events_endpoint, "event feed to subscribe to (default ipc://D/run/events)");
  add("replay", rt.replay_endpoint, "replay endpoint (default ipc://D/run/replay)");
  add("command", o.command_endpoint,
      "command endpoint sagas send to (default ipc://D/run/command)");
  add("rates", o.rates_endpoint,
      "rates service for the exchange-rate saga (default ipc://D/run/rates)");
  add("notify_in", rt.notify_in_endpoint,
      "notifier's change-report endpoint, or none (default ipc://D/run/notify-in)");
  app.add_option("--model-endpoint", model_eps, "query endpoint of a model: NAME=EP (repeatable)");
  add("source", rt.source, "where stored events come from: auto, journal or replay (default auto)");
  add("snapshot_every", rt.snapshot_every,
      "snapshot after this many events (0 = never by count; default 5000000)");
  add("snapshot_seconds", rt.snapshot_seconds,
      "snapshot this often when something changed (0 = never by time; default 300)");
  add("snapshots_kept", rt.snapshots_kept, "snapshots kept per model (default 2)");
  add("final_snapshot", rt.final_snapshot, "write a snapshot at a clean stop (default true)");
  add("feed_queue", rt.feed_queue,
      "events queued between the receive and projector threads (default 65536)");
  add("snapshot_fork", rt.snapshot_fork,
      "take periodic snapshots in a forked child so queries do not wait for save() (default "
      "true)");
  add("apply_batch", rt.apply_batch, "events applied per loop turn between queries (default 8192)");
  add("rebuild_threads", rt.rebuild_threads,
      "threads a rebuild uses: 1, or 2 to read and apply in parallel (default 1)");
  add("tail_check_ms", tail_ms,
      "journal tail check when nothing wakes the projector, ms (default 5; 100 while the journal's "
      "bell is attached)");
  add("replay_check_ms", replay_check_ms,
      "replay tail check when the feed is quiet, ms (default 200)");
  add("idle_spin_us", idle_spin_us,
      "poll for work this long before sleeping, us (default 0; 50 helps back-to-back queries only "
      "with a spare core)");
  add("wake_coalesce_us", wake_coalesce_us,
      "same-host journal: ring the projector at most once per this long under load, us "
      "(default 1000; 0 = every publish)");
  add("saga_tick_ms", saga_tick_ms, "saga tick interval, ms (default 10)");
  add("max_request_bytes", max_request_bytes, "largest query (too_large past it; default 1048576)");
  add("default_query_timeout_ms", rt.default_query_timeout_ms,
      "wait for `after` when timeout_ms is absent (default 1000)");
  add("max_query_timeout_ms", rt.max_query_timeout_ms,
      "largest timeout_ms honoured (default 60000)");
  add("max_parked_queries", rt.max_parked_queries,
      "queries waiting for `after` per model (default 100000)");
  add("max_parked_query_bytes", rt.max_parked_query_bytes,
      "bytes of the queries waiting for `after` per model (default 67108864)");
  add("max_queued_reply_bytes", rt.max_queued_reply_bytes,
      "bytes of replies queued for one client that is not reading, per model (default 67108864)");
  add("max_report_keys", rt.max_report_keys,
      "keys per change report before it means the whole model (default 1000)");
  add("report_hwm", rt.report_hwm, "change reports queued for a slow notifier (default 1000)");
  add("replay_page", rt.replay_page, "events per replay request (default 4096)");
  add("replay_timeout_ms", replay_timeout_ms, "replay request timeout, ms (default 2000)");
  add("curve_key", rt.curve_key_file, "our CURVE key pair file (needed for tcp:// endpoints)");
  add("curve_allow", rt.curve_allow_file,
      "allow-list of client public keys for tcp:// query endpoints");
  add("curve_server", rt.curve_server_key_file,
      "public key of the servers we connect to over tcp://");
  add("log_level", o.log_level, "trace, debug, info, warn, error (default info)");

  try {
    app.parse(argc, argv);
    std::vector<std::string> file_models;
    json file_model_eps = json::object();
    if (!config.empty()) {
      std::ifstream in(config);
      if (!in) throw std::runtime_error("cannot read config file " + config);
      const json j = json::parse(in, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        throw std::runtime_error(config + ": not a JSON object");
      auto apply = [&](const json& obj, bool strict) {
        for (const auto& [k, v] : obj.items()) {
          try {
            if (!k.empty() && k[0] == '_') continue;  // a comment
            if (k == "proj" && !strict) continue;     // the section, applied after the top level
            if (!strict && k == "rates" && v.is_object()) continue;  // rill-rates' section
            if (!strict && !kSharedKeys.contains(k)) {
              if (daemon::section_key(k) || daemon::known_top_level_key(k))
                continue;  // another daemon's
              throw std::runtime_error(config + ": unknown option '" + k + "'");
            }
            if (k == "data") {
              if (data.empty()) data = v.get<std::string>();
            } else if (k == "models") {
              if (v.is_array()) {
                file_models = v.get<std::vector<std::string>>();
              } else if (v.is_object()) {
                for (const auto& [m, settings] : v.items()) {
                  if (!m.empty() && m[0] == '_') continue;  // a comment
                  if (!settings.is_object())
                    throw std::runtime_error(config + ": models." + m + " must be an object");
                  o.model_settings[m] = settings;
                }
              } else {
                throw std::runtime_error(
                    config + ": models must be a list of names or an object of settings");
              }
            } else if (k == "model_endpoints") {
              if (!v.is_object())
                throw std::runtime_error(config + ": model_endpoints must be an object");
              file_model_eps = v;
            } else if (auto it = from_file.find(k); it != from_file.end()) {
              if (app.count(flag_of[k]) == 0) it->second(v);
            } else {
              throw std::runtime_error(config + ": unknown option '" + k + "'");
            }
          } catch (const json::exception&) {
            throw std::runtime_error(config + ": option '" + k + "' has the wrong type");
          }
        }
      };
      apply(j, false);
      if (j.contains("proj")) {
        if (!j["proj"].is_object()) throw std::runtime_error(config + ": proj must be an object");
        apply(j["proj"], true);
      }
    }
    if (!data.empty()) rt.data_dir = data;
    o.models = raw_models.empty() ? file_models : split_models(raw_models);
    if (o.models.empty()) throw CLI::ValidationError("--models", "name at least one read model");
    std::set<std::string> seen;
    for (const auto& m : o.models)
      if (!seen.insert(m).second) throw CLI::ValidationError("--models", m + " is listed twice");
    for (const auto& [m, ep] : file_model_eps.items()) {
      if (!ep.is_string())
        throw std::runtime_error(config + ": model_endpoints." + m + " must be a string");
      rt.model_endpoints[m] = ep.get<std::string>();
    }
    for (const auto& item : model_eps) {
      const auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
        throw CLI::ValidationError("--model-endpoint", "expected NAME=ENDPOINT, got " + item);
      rt.model_endpoints[item.substr(0, eq)] = item.substr(eq + 1);
    }
    for (const auto& [m, ep] : rt.model_endpoints)
      if (!seen.contains(m))
        throw CLI::ValidationError("--model-endpoint", m + " is not hosted here");
    rt.tail_check_interval = std::chrono::milliseconds(tail_ms);
    rt.replay_check_interval = std::chrono::milliseconds(replay_check_ms);
    rt.idle_spin = std::chrono::microseconds(idle_spin_us);
    rt.wake_coalesce = std::chrono::microseconds(wake_coalesce_us);
    rt.saga_tick_interval = std::chrono::milliseconds(saga_tick_ms);
    rt.replay_timeout = std::chrono::milliseconds(replay_timeout_ms);
    rt.query_limits.max_request_bytes = max_request_bytes;
    if (!log_level_ok(o.log_level))
      throw CLI::ValidationError("--log-level", "must be trace, debug, info, warn or error");
    // A saga's endpoints (rt.validate() checks the runtime's own).
    for (const auto* ep : {&o.command_endpoint, &o.rates_endpoint})
      if (!ep->empty())
        if (auto why = transport::endpoint_problem(*ep); !why.empty())
          throw std::runtime_error(why);
    rt.validate();
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? -1 : 2;
  } catch (const std::exception& e) {
    std::cerr << "rill-proj: " << e.what() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace rill::proj
