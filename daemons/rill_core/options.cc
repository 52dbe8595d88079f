#include "daemons/rill_core/options.h"

#include <algorithm>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "daemons/common/shared_config.h"
#include "daemons/common/whole_number.h"
#include "store/journal_format.h"

namespace rill::daemon {
namespace {

// Applies one level of a config file: the top level (strict = false: other
// daemons' keys are passed over) or the "core" section (strict = true).
// Throws std::runtime_error naming a key rill-core does not have or one of
// the wrong type.
// A key whose flag was given is passed over: the flag wins.
void apply_level(const std::string& file, const nlohmann::json& obj, bool strict,
                 const CLI::App& app, core_options& o, std::string& sync_text) {
  for (auto& [k, v] : obj.items()) {
    if (!k.empty() && k[0] == '_') continue;  // a comment (config/default.json's "_doc")
    std::string flag = "--" + k;
    std::replace(flag.begin(), flag.end(), '_', '-');
    if (const auto* opt = app.get_option_no_throw(flag); opt != nullptr && opt->count() > 0)
      continue;
    try {
      if (k == "data")
        o.data = v.get<std::string>();
      else if (k == "schema")
        o.schema = v.get<std::string>();
      else if (k == "sync")
        sync_text = v.get<std::string>();
      else if (k == "command")
        o.command = v.get<std::string>();
      else if (k == "events")
        o.events = v.get<std::string>();
      else if (k == "replay")
        o.replay = v.get<std::string>();
      else if (k == "segment_size")
        o.segment_size = whole_number_from_json<uint64_t>(v);
      else if (k == "prefault_ahead")
        o.prefault_ahead = whole_number_from_json<uint64_t>(v);
      else if (k == "max_request_bytes")
        o.lim.max_request_bytes = whole_number_from_json<size_t>(v);
      else if (k == "max_batch")
        o.lim.max_batch = whole_number_from_json<size_t>(v);
      else if (k == "max_key_len")
        o.lim.max_key_len = whole_number_from_json<size_t>(v);
      else if (k == "max_keys")
        o.max_keys = whole_number_from_json<size_t>(v);
      else if (k == "drain_max")
        o.drain_max = whole_number_from_json<size_t>(v);
      else if (k == "drain_max_bytes")
        o.drain_max_bytes = whole_number_from_json<size_t>(v);
      else if (k == "busy_poll_us")
        o.busy_poll_us = whole_number_from_json<uint32_t>(v);
      else if (k == "checkpoint_every")
        o.checkpoint_every = whole_number_from_json<uint64_t>(v);
      else if (k == "events_hwm")
        o.events_hwm = whole_number_from_json<int>(v);
      else if (k == "max_queued_reply_bytes")
        o.max_queued_reply_bytes = whole_number_from_json<uint64_t>(v);
      else if (k == "checkpoint_interval_s")
        o.checkpoint_interval_s = whole_number_from_json<uint32_t>(v);
      else if (k == "curve_key")
        o.curve_key = v.get<std::string>();
      else if (k == "curve_allow")
        o.curve_allow = v.get<std::string>();
      else if (k == "log_level")
        o.log_level = v.get<std::string>();
      else if (!strict && (section_key(k) || known_top_level_key(k)))
        continue;  // another daemon's
      else
        throw std::runtime_error(file + ": unknown option '" + k + "'");
    } catch (const nlohmann::json::exception&) {
      throw std::runtime_error(file + ": option '" + k + "' has the wrong type");
    } catch (const std::domain_error& e) {
      throw std::runtime_error(file + ": option '" + k + "' " + e.what());
    }
  }
}

// Applies a JSON config file: its top level, then its "core" section.
// Throws std::runtime_error naming the bad key.
void apply_config(const std::string& file, const CLI::App& app, core_options& o,
                  std::string& sync_text) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read config file " + file);
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw std::runtime_error(file + ": not a JSON object");
  apply_level(file, j, false, app, o, sync_text);
  if (j.contains("core")) {
    if (!j["core"].is_object()) throw std::runtime_error(file + ": core must be an object");
    apply_level(file, j["core"], true, app, o, sync_text);
  }
}

}  // namespace

int parse_core_options(int argc, char** argv, core_options& o) {
  CLI::App app{"rill-core: the command processor. Validates commands, appends events to the "
               "journal, acknowledges them and publishes the event feed."};
  std::string config, data, sync_text = "none";
  app.add_option("--config", config, "JSON config file (flags override it)");
  app.add_option("--data", data, "data directory D (default ./rill-data)");
  app.add_option("--schema", o.schema, "domain schema file (default: the built-in domain)");
  app.add_option("--sync", sync_text, "none | batch | interval:MS (default none)");
  app.add_option("--command", o.command, "command endpoint (default ipc://D/run/command)");
  app.add_option("--events", o.events, "event feed endpoint (default ipc://D/run/events)");
  app.add_option("--replay", o.replay, "replay endpoint (default ipc://D/run/replay)");
  whole_number_flag<uint64_t>(
      app.add_option("--segment-size", o.segment_size, "journal segment size in bytes"));
  whole_number_flag<size_t>(app.add_option("--max-request-bytes", o.lim.max_request_bytes,
                                           "largest request (too_large past it)"));
  whole_number_flag<size_t>(
      app.add_option("--max-batch", o.lim.max_batch, "most commands in one batch"));
  whole_number_flag<size_t>(app.add_option("--max-keys", o.max_keys,
                                           "idempotency keys retained (oldest forgotten first)"));
  whole_number_flag<uint32_t>(app.add_option("--busy-poll-us", o.busy_poll_us,
                                             "spin on the command socket before blocking (µs)"));
  whole_number_flag<uint64_t>(
      app.add_option("--checkpoint-every", o.checkpoint_every, "events between index checkpoints"));
  whole_number_flag<int>(
      app.add_option("--events-hwm", o.events_hwm,
                     "events queued per feed subscriber before it misses some (default 100000)"));
  whole_number_flag<uint64_t>(
      app.add_option("--max-queued-reply-bytes", o.max_queued_reply_bytes,
                     "bytes of replies held for one client that is not reading (default 64 MiB)"));
  whole_number_flag<uint32_t>(
      app.add_option("--checkpoint-interval-s", o.checkpoint_interval_s,
                     "at least this many seconds between two index checkpoints (0: no limit)"));
  app.add_option("--curve-key", o.curve_key, "server CURVE key file (tcp:// endpoints)");
  app.add_option("--curve-allow", o.curve_allow, "allow-list of client public keys (tcp://)");
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error");
  try {
    app.parse(argc, argv);
    std::string file_sync;
    if (!config.empty()) {
      apply_config(config, app, o, file_sync);
      if (!file_sync.empty()) sync_text = file_sync;
    }
    if (!data.empty()) o.data = data;
    auto sm = store::sync_mode::parse(sync_text);
    if (!sm) throw CLI::ValidationError("--sync", "must be none, batch or interval:MS (1..60000)");
    o.sync = *sm;
    if (o.lim.max_request_bytes < 1024 || o.lim.max_request_bytes > (64u << 20))
      throw CLI::ValidationError("--max-request-bytes", "must be 1 KiB .. 64 MiB");
    if (o.lim.max_batch < 1) throw CLI::ValidationError("--max-batch", "must be >= 1");
    // The journal would raise a smaller size (and refuse a larger one) on
    // its own; say so here instead of running with another size than asked.
    if (o.segment_size < store::format::kMinSegmentSize ||
        o.segment_size > store::format::kMaxSegmentSize)
      throw CLI::ValidationError("--segment-size", "must be 64 KiB .. 1 TiB (in bytes)");
    // drain_max slots are allocated at start: 4294967296 was a bad_alloc,
    // exit 1, restarted for ever.
    if (o.drain_max < 1 || o.drain_max > 100'000)
      throw CLI::ValidationError("drain_max", "must be 1..100000");
    if (o.drain_max_bytes < 1024) throw CLI::ValidationError("drain_max_bytes", "must be >= 1024");
    if (o.events_hwm < 16 || o.events_hwm > 10'000'000)
      throw CLI::ValidationError("--events-hwm", "must be 16..10000000");
    if (o.max_queued_reply_bytes < (64u << 10) || o.max_queued_reply_bytes > (uint64_t{1} << 40))
      throw CLI::ValidationError("--max-queued-reply-bytes", "must be 64 KiB .. 1 TiB (in bytes)");
    // spdlog turns an unknown level into "off", which would hide every error.
    if (o.log_level != "trace" && o.log_level != "debug" && o.log_level != "info" &&
        o.log_level != "warn" && o.log_level != "error")
      throw CLI::ValidationError("--log-level", "must be trace, debug, info, warn or error");
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? -1 : 2;
  } catch (const std::exception& e) {
    std::cerr << "rill-core: " << e.what() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace rill::daemon
