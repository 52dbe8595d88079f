#include "readmodels/runtime_options.h"

#include <stdexcept>

#include "transport/endpoints.h"

namespace rill::readmodels {
namespace {

void check(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument(what);
}

// "" or why `ep` cannot be one of a daemon's endpoints (inproc:// among
// them: rill-core, the notifier and the clients are other processes).
std::string endpoint_problem(const std::string& ep) {
  return transport::endpoint_problem(ep);
}

}  // namespace

void runtime_options::validate() const {
  check(!data_dir.empty(), "data: must not be empty");
  check(source == "auto" || source == "journal" || source == "replay",
        "source: must be auto, journal or replay");
  check(snapshot_seconds >= 0 && snapshot_seconds <= 7 * 86400.0,
        "snapshot_seconds: must be 0..604800");
  check(snapshots_kept >= 1 && snapshots_kept <= 100, "snapshots_kept: must be 1..100");
  check(feed_queue >= 16 && feed_queue <= (16u << 20), "feed_queue: must be 16..16777216");
  check(apply_batch >= 1 && apply_batch <= (1u << 20), "apply_batch: must be 1..1048576");
  check(rebuild_threads == 1 || rebuild_threads == 2, "rebuild_threads: must be 1 or 2");
  check(tail_check_interval.count() >= 1 && tail_check_interval.count() <= 10'000,
        "tail_check_ms: must be 1..10000");
  check(replay_check_interval.count() >= 1 && replay_check_interval.count() <= 60'000,
        "replay_check_ms: must be 1..60000");
  check(idle_spin.count() >= 0 && idle_spin.count() <= 100'000, "idle_spin_us: must be 0..100000");
  check(wake_coalesce.count() >= 0 && wake_coalesce.count() <= 20'000,
        "wake_coalesce_us: must be 0..20000");
  check(saga_tick_interval.count() >= 1 && saga_tick_interval.count() <= 10'000,
        "saga_tick_ms: must be 1..10000");
  check(query_limits.max_request_bytes >= 1024 && query_limits.max_request_bytes <= (64u << 20),
        "max_request_bytes: must be 1024..67108864");
  check(max_query_timeout_ms >= 1 && max_query_timeout_ms <= 3'600'000,
        "max_query_timeout_ms: must be 1..3600000");
  check(default_query_timeout_ms <= max_query_timeout_ms,
        "default_query_timeout_ms: must not exceed max_query_timeout_ms");
  check(max_parked_queries >= 1 && max_parked_queries <= 10'000'000,
        "max_parked_queries: must be 1..10000000");
  check(max_parked_query_bytes >= query_limits.max_request_bytes &&
            max_parked_query_bytes <= (size_t{1} << 40),
        "max_parked_query_bytes: must be at least max_request_bytes, at most 1 TiB");
  check(max_queued_reply_bytes >= (size_t{64} << 10) && max_queued_reply_bytes <= (size_t{1} << 40),
        "max_queued_reply_bytes: must be at least 65536, at most 1 TiB");
  check(max_report_keys >= 1 && max_report_keys <= 1'000'000,
        "max_report_keys: must be 1..1000000");
  check(report_hwm >= 1 && report_hwm <= 1'000'000, "report_hwm: must be 1..1000000");
  check(replay_page >= 1 && replay_page <= 1'000'000, "replay_page: must be 1..1000000");
  check(replay_timeout.count() >= 10 && replay_timeout.count() <= 600'000,
        "replay_timeout_ms: must be 10..600000");
  for (const auto* ep : {&events_endpoint, &replay_endpoint})
    if (!ep->empty()) check(endpoint_problem(*ep).empty(), endpoint_problem(*ep));
  if (!notify_in_endpoint.empty() && notify_in_endpoint != "none")
    check(endpoint_problem(notify_in_endpoint).empty(),
          "notify_in (an endpoint or none): " + endpoint_problem(notify_in_endpoint));
  for (const auto& [m, ep] : model_endpoints)
    check(endpoint_problem(ep).empty(), "model endpoint for " + m + ": " + endpoint_problem(ep));
  check(curve_allow_file.empty() || !curve_key_file.empty(), "curve_allow: needs curve_key");
}

runtime_options runtime_options::resolved(const std::vector<std::string>& models) const {
  runtime_options o = *this;
  const auto defaults = transport::default_endpoints(data_dir);
  if (o.events_endpoint.empty()) o.events_endpoint = defaults.events;
  if (o.replay_endpoint.empty()) o.replay_endpoint = defaults.replay;
  if (o.notify_in_endpoint.empty()) o.notify_in_endpoint = defaults.notify_in;
  for (const auto& m : models) {
    if (!o.model_endpoints.contains(m))
      o.model_endpoints[m] = transport::default_model_endpoint(data_dir, m);
  }
  return o;
}

}  // namespace rill::readmodels
