#pragma once
// One request/reply exchange with a rill endpoint for the CLI subcommands,
// and the uniform reporting of its outcome:
//   not running  the ipc socket file does not exist          -> exit 3
//   no reply     nothing came back within the timeout        -> exit 3
//   refused      {"ok": false, "error": code, "message": ...} -> exit 1
//
// Thread-safety: functions only; the zmq context must outlive the call.
#include <chrono>
#include <string>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemons/rill/cli_options.h"

namespace rill::cli {

enum class call_status { replied, not_running, no_reply };

struct call_result {
  call_status status = call_status::no_reply;
  nlohmann::json reply;  // when replied
};

// Sends `request` to the ROUTER `endpoint` and waits for the reply echoing it.
call_result call_endpoint(zmq::context_t& ctx, const std::string& endpoint, nlohmann::json request,
                          std::chrono::milliseconds timeout);

// For a result that is not `replied`: prints why on stderr; returns 3.
// `what` names the daemon ("rill-core", "read model orders").
int report_unreachable(const global_options& g, const std::string& what,
                       const std::string& endpoint, const call_result& r,
                       std::chrono::milliseconds timeout);

// For {"ok": false, ...}: "rill: <code>: <message>" on stderr; returns 1.
int report_refusal(const nlohmann::json& reply);

}  // namespace rill::cli
