// peer-load: the workload shape of `rill load`, run against Redis Streams or
// PostgreSQL, so that bench/peers/run.sh can put rill next to its peers.
//
//   peer-load --system redis|postgres --row ROW [--host H] [--port P]
//             [--duration S] [--batch N] [--rate R] [--events N] [--page N]
//             [--passes N] [--dbname D] [--user U]
//
// ROW is one of
//   one        append one event at a time, each acknowledged (not durable)
//   pipelined  append in pipelines / transactions of --batch (not durable)
//   durable    as pipelined, acknowledged only once on disk (Redis
//              appendfsync always, PostgreSQL synchronous_commit on)
//   latency    append at --rate events/s (open loop) and measure intended
//              send -> received by a subscriber on another connection
//   catchup    store --events events (untimed), then read them all back in
//              pages of --page, --passes times; the last pass is reported
// --host is 127.0.0.1 by default; a path is a unix socket (Redis: the socket
// file; PostgreSQL: the socket directory, with --port naming the socket).
// Prints one JSON object on stdout; exit 1 if the run failed.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "bench/peers/peer_common.h"

namespace {

using rill::peers::peer_options;

int usage(const char* why) {
  std::fprintf(stderr,
               "peer-load: %s\nusage: peer-load --system redis|postgres --row "
               "one|pipelined|durable|latency|catchup [--host H] [--port P] [--duration S] "
               "[--batch N] [--rate R] [--events N] [--page N] [--passes N] [--dbname D] "
               "[--user U]\n",
               why);
  return 2;
}

bool parse(int argc, char** argv, peer_options& o, std::string& error) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      error = "help";
      return false;
    }
    if (i + 1 >= argc) {
      error = flag + " needs a value";
      return false;
    }
    const std::string v = argv[++i];
    try {
      if (flag == "--system") o.system = v;
      else if (flag == "--row") o.row = v;
      else if (flag == "--host") o.host = v;
      else if (flag == "--port") o.port = std::stoi(v);
      else if (flag == "--dbname") o.dbname = v;
      else if (flag == "--user") o.user = v;
      else if (flag == "--duration") o.duration_s = std::stod(v);
      else if (flag == "--batch") o.batch = static_cast<uint32_t>(std::stoul(v));
      else if (flag == "--rate") o.rate = std::stod(v);
      else if (flag == "--events") o.events = std::stoull(v);
      else if (flag == "--page") o.page = static_cast<uint32_t>(std::stoul(v));
      else if (flag == "--passes") o.passes = static_cast<uint32_t>(std::stoul(v));
      else {
        error = "unknown flag " + flag;
        return false;
      }
    } catch (const std::exception&) {
      error = "bad value for " + flag + ": " + v;
      return false;
    }
  }
  if (o.system != "redis" && o.system != "postgres") error = "--system must be redis or postgres";
  else if (o.row != "one" && o.row != "pipelined" && o.row != "durable" && o.row != "latency" &&
           o.row != "catchup")
    error = "--row must be one, pipelined, durable, latency or catchup";
  else if (!(o.duration_s > 0 && o.duration_s <= 3600)) error = "--duration must be in (0, 3600]";
  else if (o.batch < 1 || o.batch > 1000) error = "--batch must be in 1..1000";
  else if (!(o.rate > 0 && o.rate <= 1e6)) error = "--rate must be in (0, 1e6]";
  else if (o.events < 1 || o.page < 1 || o.passes < 1) error = "--events, --page, --passes must be >= 1";
  else return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  peer_options o;
  std::string error;
  if (!parse(argc, argv, o, error)) return usage(error.c_str());
  if (o.port == 0) o.port = o.system == "redis" ? 6379 : 5432;
  rill::peers::peer_result r;
  try {
    r = o.system == "redis" ? rill::peers::run_redis(o) : rill::peers::run_postgres(o);
  } catch (const std::exception& e) {
    r.fatal = e.what();
  }
  const rill::peers::event_payload payload;
  nlohmann::json j;
  j["system"] = o.system;
  j["row"] = o.row;
  j["batch"] = o.row == "pipelined" || o.row == "durable" ? o.batch : 1;
  if (o.row == "latency") j["rate"] = o.rate;
  j["payload_bytes"] = payload.bytes().size();
  j["payload_format"] = "msgpack";
  j["events"] = r.events;
  j["failed"] = r.failed;
  j["elapsed_s"] = std::round(r.elapsed_s * 1000) / 1000;
  j["throughput"] = std::round(r.throughput());
  j[o.row == "latency" ? "visible_us" : "latency_us"] = rill::peers::latency_json(r.latency);
  j["notes"] = r.notes;
  if (!r.fatal.empty()) j["fatal"] = r.fatal;
  std::cout << j.dump() << "\n";
  return r.fatal.empty() ? 0 : 1;
}
