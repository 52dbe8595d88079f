#include "daemons/rill/probe.h"

#include <memory>

#include "daemons/rill/cli_options.h"
#include "transport/endpoints.h"
#include "transport/security.h"

namespace rill::cli {

bool ipc_endpoint_missing(const std::string& endpoint) {
  const std::string prefix = "ipc://";
  if (endpoint.rfind(prefix, 0) != 0) return false;
  std::error_code ec;
  return !std::filesystem::exists(endpoint.substr(prefix.size()), ec);
}

probe_target status_target(const std::filesystem::path& data, const std::string& name,
                           daemon_kind kind, const std::string& model) {
  const auto ep = transport::discover_endpoints(data);
  probe_target t;
  t.name = name;
  switch (kind) {
    case daemon_kind::core:
      t.endpoint = ep.command;
      t.request = {{"op", "status"}};
      break;
    case daemon_kind::proj: {
      auto it = ep.models.find(model);
      t.endpoint =
          it != ep.models.end() ? it->second : transport::default_model_endpoint(data, model);
      t.request = {{"model", model}, {"q", "status"}};
      break;
    }
    case daemon_kind::notify:
      t.endpoint = ep.notify;
      t.request = {{"op", "status"}};
      break;
    case daemon_kind::rates:
      t.endpoint = rates_endpoint(data);
      t.request = {{"op", "ping"}};
      t.rep = true;
      break;
  }
  return t;
}

std::vector<probe_result> probe_all(zmq::context_t& ctx, const std::vector<probe_target>& targets,
                                    std::chrono::milliseconds timeout) {
  std::vector<probe_result> results(targets.size());
  std::vector<std::unique_ptr<zmq::socket_t>> sockets(targets.size());
  std::vector<zmq::pollitem_t> items;
  std::vector<size_t> index;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (ipc_endpoint_missing(targets[i].endpoint)) continue;
    try {
      auto s = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
      s->set(zmq::sockopt::linger, 0);
      // CURVE for a tcp:// endpoint; without keys the target is not asked
      // at all (never in the clear) and shows as not answering.
      try {
        transport::apply_client_security(*s, targets[i].endpoint, client_security());
      } catch (const transport::security_error&) {
        continue;
      }
      s->connect(targets[i].endpoint);
      auto body = nlohmann::json::to_msgpack(targets[i].request);
      if (targets[i].rep) (void)s->send(zmq::const_buffer("", 0), zmq::send_flags::sndmore);
      (void)s->send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::dontwait);
      sockets[i] = std::move(s);
    } catch (const zmq::error_t&) {
      continue;
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    items.clear();
    index.clear();
    for (size_t i = 0; i < targets.size(); ++i) {
      if (!sockets[i] || results[i].answered) continue;
      items.push_back({sockets[i]->handle(), 0, ZMQ_POLLIN, 0});
      index.push_back(i);
    }
    if (items.empty()) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    try {
      if (zmq::poll(items.data(), items.size(), left) <= 0) continue;
    } catch (const zmq::error_t&) {
      break;
    }
    for (size_t k = 0; k < items.size(); ++k) {
      if (!(items[k].revents & ZMQ_POLLIN)) continue;
      auto& s = *sockets[index[k]];
      zmq::message_t last;
      try {
        zmq::message_t part;
        while (s.recv(part, zmq::recv_flags::dontwait)) {
          bool more = part.more();
          last = std::move(part);
          if (!more) break;
        }
      } catch (const zmq::error_t&) {
        continue;
      }
      auto reply = nlohmann::json::from_msgpack(
          static_cast<const uint8_t*>(last.data()),
          static_cast<const uint8_t*>(last.data()) + last.size(), true, false);
      auto& r = results[index[k]];
      r.answered = true;
      r.reply = reply.is_discarded() ? nlohmann::json::object() : reply;
    }
  }
  return results;
}

}  // namespace rill::cli
