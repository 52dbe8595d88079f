#include "daemons/rill_rates/options.h"

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

namespace fs = std::filesystem;

}  // namespace

std::string rates_options::resolved_endpoint() const {
  if (!endpoint.empty()) return endpoint;
  return "ipc://" + (transport::run_dir(data) / "rates").string();
}

fs::path rates_options::resolved_rates() const {
  if (!rates.empty()) return rates;
  // The checkout's copy when run from its build tree (so an edit of it
  // counts without a rebuild), then an installed one; else the caller uses
  // the copy built into the binary.
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path() / ".." / ".." / "config" / "rates.json");
    candidates.push_back(exe.parent_path() / ".." / "share" / "rill" / "rates.json");
  }
  for (const auto& c : candidates)
    if (fs::is_regular_file(c, ec)) return c.lexically_normal();
  return {};
}

int parse_rates_options(int argc, char** argv, rates_options& o) {
  CLI::App app{
      "rill-rates: a small exchange-rate service (REP), standing in for the external "
      "system the exchange-rates saga asks. {\"base\":\"EUR\",\"currency\":\"USD\"} -> "
      "{\"ok\":true,\"rate\":<units of base per 1 unit of currency>}."};
  std::string config, data;
  std::map<std::string, std::function<void(const nlohmann::json&)>> from_file;
  auto flag_of = [](std::string key) {
    std::replace(key.begin(), key.end(), '_', '-');
    return "--" + key;
  };
  auto str_opt = [&](const std::string& key, std::string& field, const std::string& help) {
    app.add_option(flag_of(key), field, help);
    from_file[key] = [&field](const nlohmann::json& v) { field = v.get<std::string>(); };
  };
  auto num_opt = [&](const std::string& key, uint64_t& field, const std::string& help) {
    whole_number_flag<uint64_t>(app.add_option(flag_of(key), field, help));
    from_file[key] = [&field](const nlohmann::json& v) {
      field = whole_number_from_json<uint64_t>(v);
    };
  };
  app.add_option("--config", config, "JSON config file (flags override it)");
  app.add_option("--data", data, "data directory D (default ./rill-data)");
  from_file["data"] = [&data](const nlohmann::json& v) {
    if (data.empty()) data = v.get<std::string>();
  };
  app.add_option("--rates", o.rates,
                 "rates file (default: config/rates.json of the build tree or share/rill, else the "
                 "copy built into this binary)");
  from_file["rates_file"] = [&o, &app](const nlohmann::json& v) {
    if (app.count("--rates") == 0) o.rates = v.get<std::string>();
  };
  str_opt("endpoint", o.endpoint, "REP endpoint (default ipc://D/run/rates)");
  num_opt("delay_ms", o.delay_ms, "sleep this long before answering a rate request (ms)");
  num_opt("fail_every", o.fail_every, "answer every Nth rate request with unavailable (0 = never)");
  num_opt("max_request_bytes", o.max_request_bytes, "largest request (too_large past it)");
  str_opt("curve_key", o.curve_key, "server CURVE key file (tcp:// endpoints)");
  str_opt("curve_allow", o.curve_allow, "allow-list of client public keys (tcp://)");
  str_opt("log_level", o.log_level, "trace, debug, info, warn, error");
  try {
    app.parse(argc, argv);
    if (!config.empty()) {
      std::ifstream in(config);
      if (!in) throw std::runtime_error("cannot read config file " + config);
      auto j = nlohmann::json::parse(in, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        throw std::runtime_error(config + ": not a JSON object");
      // strict: the "rates" section, where every key must be ours.
      auto apply = [&](const nlohmann::json& obj, bool strict) {
        for (auto& [k, v] : obj.items()) {
          if (!k.empty() && k[0] == '_') continue;  // a comment (config/default.json's "_doc")
          if (!strict && k == "rates") {
            // The section, applied below; a string is the rates service's
            // endpoint, as rill-proj reads it from the same file.
            if (v.is_string() && app.count("--endpoint") == 0) o.endpoint = v.get<std::string>();
            if (v.is_object() || v.is_string()) continue;
            throw std::runtime_error(config + ": option 'rates' has the wrong type");
          }
          auto it = from_file.find(k);
          if (it == from_file.end() && !strict && (section_key(k) || known_top_level_key(k)))
            continue;  // another daemon's (shared_config.h)
          if (it == from_file.end())
            throw std::runtime_error(config + ": unknown option '" + k + "'");
          const auto* flag = app.get_option_no_throw(flag_of(k));
          if (k != "data" && flag != nullptr && flag->count() > 0) continue;  // the flag wins
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
      if (j.contains("rates") && j["rates"].is_object()) apply(j["rates"], true);
    }
    if (!data.empty()) o.data = data;
    if (o.data.empty()) throw CLI::ValidationError("--data", "must not be empty");
    if (o.delay_ms > 600'000) throw CLI::ValidationError("--delay-ms", "must be 0 .. 600000");
    if (o.max_request_bytes < 1024 || o.max_request_bytes > (64u << 20))
      throw CLI::ValidationError("--max-request-bytes", "must be 1 KiB .. 64 MiB");
    const auto& l = o.log_level;
    if (l != "trace" && l != "debug" && l != "info" && l != "warn" && l != "error")
      throw CLI::ValidationError("--log-level", "must be trace, debug, info, warn or error");
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? -1 : 2;
  } catch (const std::exception& e) {
    std::cerr << "rill-rates: " << e.what() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace rill::daemon
