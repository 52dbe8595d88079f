#pragma once
// Asking many daemons at once whether they answer (`rill up --detach`
// readiness, `rill status`, `rill demo`): one DEALER socket per target, all
// requests sent first, then every reply collected until one deadline, so
// that N silent daemons cost one timeout, not N.
//
// Thread-safety: functions only; the zmq context must outlive the call.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemons/rill/daemon_specs.h"

namespace rill::cli {

struct probe_target {
  std::string name;        // e.g. "rill-proj-orders"
  std::string endpoint;    // ROUTER endpoint, or REP when `rep`
  nlohmann::json request;  // sent as MessagePack
  bool rep = false;        // REP server: send the empty delimiter frame first
};

struct probe_result {
  bool answered = false;
  nlohmann::json reply;  // the decoded reply when answered
};

// One result per target, in order.
std::vector<probe_result> probe_all(zmq::context_t& ctx, const std::vector<probe_target>& targets,
                                    std::chrono::milliseconds timeout);

// The status request for one daemon of `data` (core: {"op":"status"} on the
// command endpoint; proj: {"q":"status"} on its model endpoint; notify:
// {"op":"status"}; rates: {"op":"ping"} on its REP endpoint).
probe_target status_target(const std::filesystem::path& data, const std::string& name,
                           daemon_kind kind, const std::string& model);

// True for an ipc:// endpoint whose socket file does not exist (nothing can
// be listening). False for other transports.
bool ipc_endpoint_missing(const std::string& endpoint);

}  // namespace rill::cli
