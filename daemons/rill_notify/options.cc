#include "daemons/rill_notify/options.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "daemons/common/shared_config.h"
#include "daemons/common/whole_number.h"
#include "transport/endpoints.h"

namespace rill::daemon {
namespace {

bool spdlog_level_ok(const std::string& l) {
  return l == "trace" || l == "debug" || l == "info" || l == "warn" || l == "error";
}

struct range_check {
  const char* name;
  uint64_t value, lo, hi;
};

}  // namespace

transport::notifier_server_options notify_options::server() const {
  transport::notifier_server_options s;
  const auto eps = transport::default_endpoints(data);
  s.notify_endpoint = notify.empty() ? eps.notify : notify;
  s.notify_in_endpoint = notify_in.empty() ? eps.notify_in : notify_in;
  s.registry.expiry = std::chrono::milliseconds(expiry_ms);
  s.registry.client_queue = client_queue;
  s.registry.max_clients = max_clients;
  s.registry.max_watches_per_client = max_watches;
  s.max_request_bytes = max_request_bytes;
  s.max_report_keys = max_report_keys;
  s.batch = batch;
  return s;
}

int parse_notify_options(int argc, char** argv, notify_options& o) {
  CLI::App app{
      "rill-notify: the change notifier. Clients watch read models (or keys of them) "
      "on the notify endpoint; read models report changes on notify-in; watchers get "
      "notes on their own connection."};
  std::string config, data;
  // Every option: its flag binds the field; the config file fills it unless the flag was given.
  std::map<std::string, std::function<void(const nlohmann::json&)>> from_file;
  auto str_opt = [&](const std::string& key, std::string& field, const std::string& help) {
    app.add_option("--" + key, field, help);
    from_file[key] = [&field](const nlohmann::json& v) { field = v.get<std::string>(); };
  };
  auto num_opt = [&](const std::string& key, uint64_t& field, const std::string& help) {
    std::string flag = key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    whole_number_flag<uint64_t>(app.add_option("--" + flag, field, help));
    from_file[key] = [&field](const nlohmann::json& v) {
      field = whole_number_from_json<uint64_t>(v);
    };
  };
  app.add_option("--config", config, "JSON config file (flags override it)");
  app.add_option("--data", data, "data directory D (default ./rill-data)");
  str_opt("notify", o.notify, "notify ROUTER endpoint (default ipc://D/run/notify)");
  app.add_option("--notify-in", o.notify_in,
                 "notify-in PULL endpoint (default ipc://D/run/notify-in)");
  from_file["notify_in"] = [&o](const nlohmann::json& v) { o.notify_in = v.get<std::string>(); };
  num_opt("expiry_ms", o.expiry_ms,
          "forget clients silent for longer than this (ms, default 30000)");
  num_opt("client_queue", o.client_queue,
          "notes waiting per client before they fold into one per model (default 1000)");
  num_opt("max_clients", o.max_clients, "most registered clients (default 100000)");
  num_opt("max_watches", o.max_watches, "most watches per client (default 10000)");
  num_opt("max_request_bytes", o.max_request_bytes, "largest request (too_large past it)");
  num_opt("max_report_keys", o.max_report_keys, "reports with more keys notify the whole model");
  num_opt("batch", o.batch, "requests and reports handled per loop turn before notes go out");
  app.add_option("--curve-key", o.curve_key, "server CURVE key file (tcp:// endpoints)");
  app.add_option("--curve-allow", o.curve_allow, "allow-list of client public keys (tcp://)");
  from_file["curve_key"] = [&o](const nlohmann::json& v) { o.curve_key = v.get<std::string>(); };
  from_file["curve_allow"] = [&o](const nlohmann::json& v) {
    o.curve_allow = v.get<std::string>();
  };
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error");
  from_file["log_level"] = [&o](const nlohmann::json& v) { o.log_level = v.get<std::string>(); };
  from_file["data"] = [&data](const nlohmann::json& v) {
    if (data.empty()) data = v.get<std::string>();
  };
  try {
    app.parse(argc, argv);
    if (!config.empty()) {
      std::ifstream in(config);
      if (!in) throw std::runtime_error("cannot read config file " + config);
      auto j = nlohmann::json::parse(in, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        throw std::runtime_error(config + ": not a JSON object");
      // strict: the "notify" section, where every key must be ours.
      auto apply = [&](const nlohmann::json& obj, bool strict) {
        for (auto& [k, v] : obj.items()) {
          if (!k.empty() && k[0] == '_') continue;  // a comment (config/default.json's "_doc")
          if (!strict && k == "notify" && v.is_object()) continue;  // the section, applied below
          auto it = from_file.find(k);
          if (it == from_file.end() && !strict && (section_key(k) || known_top_level_key(k)))
            continue;  // another daemon's (shared_config.h)
          if (it == from_file.end())
            throw std::runtime_error(config + ": unknown option '" + k + "'");
          std::string flag = "--" + k;
          std::replace(flag.begin(), flag.end(), '_', '-');
          if (k != "data" && app.count(flag) > 0) continue;  // the flag wins
          try {
            it->second(v);
          } catch (const nlohmann::json::exception&) {
            throw std::runtime_error(config + ": option '" + k + "' has the wrong type");
          } catch (const std::domain_error& e) {
            throw std::runtime_error(config + ": option '" + k + "' " + e.what());
          }
        }
      };
      apply(j, false);
      if (j.contains("notify") && j["notify"].is_object()) apply(j["notify"], true);
    }
    if (!data.empty()) o.data = data;
    const range_check checks[] = {
        {"--expiry-ms", o.expiry_ms, 100, 86'400'000},
        {"--client-queue", o.client_queue, 1, 1'000'000},
        {"--max-clients", o.max_clients, 1, 10'000'000},
        {"--max-watches", o.max_watches, 1, 10'000'000},
        {"--max-request-bytes", o.max_request_bytes, 1024, 64u << 20},
        {"--max-report-keys", o.max_report_keys, 1, 10'000'000},
        {"--batch", o.batch, 1, 1'000'000},
    };
    for (const auto& c : checks) {
      if (c.value < c.lo || c.value > c.hi)
        throw CLI::ValidationError(
            c.name, "must be " + std::to_string(c.lo) + " .. " + std::to_string(c.hi));
    }
    if (o.data.empty()) throw CLI::ValidationError("--data", "must not be empty");
    if (spdlog_level_ok(o.log_level) == false)
      throw CLI::ValidationError("--log-level", "must be trace, debug, info, warn or error");
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? -1 : 2;
  } catch (const std::exception& e) {
    std::cerr << "rill-notify: " << e.what() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace rill::daemon
