#include "daemons/rill/client_call.h"

#include "daemons/rill/probe.h"
#include "transport/client.h"

namespace rill::cli {

call_result call_endpoint(zmq::context_t& ctx, const std::string& endpoint, nlohmann::json request,
                          std::chrono::milliseconds timeout) {
  call_result r;
  if (ipc_endpoint_missing(endpoint)) {
    r.status = call_status::not_running;
    return r;
  }
  try {
    transport::rpc_client client(ctx, endpoint, client_security());
    auto reply = client.call(std::move(request), timeout);
    if (!reply) return r;
    r.status = call_status::replied;
    r.reply = std::move(*reply);
  } catch (const zmq::error_t&) {
    r.status = call_status::no_reply;
  }
  return r;
}

int report_unreachable(const global_options& g, const std::string& what,
                       const std::string& endpoint, const call_result& r,
                       std::chrono::milliseconds timeout) {
  if (r.status == call_status::not_running)
    return not_running(g, what + ": no socket at " + endpoint);
  return report(
      "unreachable",
      what + " did not answer within " + std::to_string(timeout.count()) + " ms (" + endpoint + ")",
      exit_unreachable);
}

int report_refusal(const nlohmann::json& reply) {
  std::string code = reply.contains("error") && reply["error"].is_string()
                         ? reply["error"].get<std::string>()
                         : "error";
  std::string msg = reply.contains("message") && reply["message"].is_string()
                        ? reply["message"].get<std::string>()
                        : reply.dump();
  // (rill-core's version_conflict message names the current version.)
  return report(code, msg, exit_refused);
}

}  // namespace rill::cli
