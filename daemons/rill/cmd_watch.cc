// rill watch: print a read model's change notifications as they come.
#include <algorithm>
#include <iostream>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemons/rill/client_call.h"
#include "daemons/rill/commands.h"
#include "daemons/rill/interrupt.h"
#include "daemons/rill/model_list.h"
#include "daemons/rill/probe.h"
#include "transport/endpoints.h"

namespace rill::cli {

namespace {

struct watch_flags {
  std::string model, key;
  int64_t count = 0;       // 0: no limit
  int64_t timeout_ms = 0;  // 0: no limit
};

// Heartbeat: the notifier forgets clients silent for 30 s (its default).
constexpr std::chrono::milliseconds kPingEvery{10000};
constexpr std::chrono::milliseconds kReplyWithin{5000};

bool send_json(zmq::socket_t& s, const nlohmann::json& j) {
  auto bytes = nlohmann::json::to_msgpack(j);
  try {
    return s.send(zmq::const_buffer(bytes.data(), bytes.size()), zmq::send_flags::dontwait)
        .has_value();
  } catch (const zmq::error_t&) {
    return false;
  }
}

// The next message's last frame as JSON; discarded on garbage or nothing.
nlohmann::json receive_json(zmq::socket_t& s) {
  zmq::message_t last;
  try {
    zmq::message_t part;
    if (!s.recv(part, zmq::recv_flags::dontwait)) return nlohmann::json::value_t::discarded;
    last = std::move(part);
    while (last.more()) {
      if (!s.recv(part, zmq::recv_flags::none)) break;
      last = std::move(part);
    }
  } catch (const zmq::error_t&) {
    return nlohmann::json::value_t::discarded;
  }
  return nlohmann::json::from_msgpack(static_cast<const uint8_t*>(last.data()),
                                      static_cast<const uint8_t*>(last.data()) + last.size(), true,
                                      false);
}

int run_watch(global_options& g, const watch_flags& f) {
  if (f.count < 0 || f.timeout_ms < 0)
    return usage_error("watch", "--count and --timeout-ms must be >= 0");
  interrupt_fd intr;  // before the zmq context (signal mask)
  const auto ep = transport::discover_endpoints(g.data_dir());
  if (ipc_endpoint_missing(ep.notify))
    return not_running(g, "rill-notify: no socket at " + ep.notify);
  // The notifier takes any name; catch a typo here (a model rill does not run).
  if (!ep.models.empty() && !ep.models.count(f.model) && !is_known_model(f.model))
    return report("unknown_model",
                  "no read model named '" + f.model + "' in " +
                      (transport::run_dir(g.data_dir()) / "endpoints.json").string(),
                  exit_refused);
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 200);  // let the final unwatch out
  s.connect(ep.notify);

  nlohmann::json watch = {{"op", "watch"}, {"model", f.model}};
  if (!f.key.empty()) watch["key"] = f.key;
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto deadline =
      f.timeout_ms > 0 ? start + std::chrono::milliseconds(f.timeout_ms) : clock::time_point::max();
  send_json(s, watch);
  bool acked = false, lost = false;
  auto next_ping = start + kPingEvery;
  auto awaiting_since = start;  // when the oldest unanswered request was sent
  bool awaiting = true;
  int64_t seen = 0;
  int rc = exit_ok;

  for (;;) {
    if (intr.fired()) break;
    const auto now = clock::now();
    if (now >= deadline) {
      if (!acked)
        rc =
            report("unreachable", "rill-notify did not answer the watch request", exit_unreachable);
      else if (f.count > 0 && seen < f.count)
        rc = report("timeout",
                    "saw " + std::to_string(seen) + " of " + std::to_string(f.count) +
                        " notifications within " + std::to_string(f.timeout_ms) + " ms",
                    exit_refused);
      break;
    }
    if (!acked && now - start >= kReplyWithin && f.timeout_ms == 0) {
      rc = report("unreachable",
                  "rill-notify did not answer the watch request within " +
                      std::to_string(kReplyWithin.count()) + " ms (" + ep.notify + ")",
                  exit_unreachable);
      break;
    }
    if (awaiting && now - awaiting_since >= kReplyWithin && !lost && acked) {
      lost = true;
      std::cerr << "rill: rill-notify is not answering; will watch again when it is back"
                << std::endl;
    }
    if (now >= next_ping) {
      if (!awaiting) awaiting_since = now;
      awaiting = true;
      send_json(s, {{"op", "ping"}});
      next_ping = now + kPingEvery;
    }
    auto wait_ms = std::clamp<long long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::min(next_ping, deadline) - now)
                .count() +
            1,
        1, 200);
    zmq::pollitem_t items[] = {{s.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, intr.fd(), ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(wait_ms));
    } catch (const zmq::error_t&) {
      continue;  // EINTR
    }
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    for (;;) {
      auto m = receive_json(s);
      if (m.is_discarded()) break;
      if (!m.is_object()) continue;
      awaiting = false;
      if (m.contains("note")) {
        ++seen;
        if (g.json) {
          std::cout << m.dump() << std::endl;
        } else {
          std::cout << m.value("note", std::string()) << "  " << m.value("model", std::string())
                    << "  " << (m.contains("key") ? m["key"].dump() : std::string("*")) << "  seq "
                    << m.value("seq", nlohmann::json(nullptr)).dump() << std::endl;
        }
        if (f.count > 0 && seen >= f.count) break;
        continue;
      }
      if (!m.value("ok", false)) {
        if (!acked) {
          rc = report_refusal(m);
          break;
        }
        continue;
      }
      if (m.value("op", std::string()) == "watch" && !acked) {
        acked = true;
        if (!g.json)
          std::cerr << "rill: watching " << f.model << (f.key.empty() ? "" : " key " + f.key)
                    << " (Ctrl-C to stop)" << std::endl;
      }
      if (lost) {  // it is back (maybe restarted, without our registration)
        lost = false;
        send_json(s, watch);
        std::cerr << "rill: rill-notify is back; watching again" << std::endl;
      }
    }
    if (rc != exit_ok || (f.count > 0 && seen >= f.count)) break;
  }
  nlohmann::json unwatch = watch;
  unwatch["op"] = "unwatch";
  send_json(s, unwatch);
  return rc;
}

}  // namespace

void add_watch_command(CLI::App& app, global_options& g) {
  auto f = std::make_shared<watch_flags>();
  auto* sub = app.add_subcommand("watch", "Print a read model's change notifications as they come");
  add_global_flags(*sub, g);
  sub->add_option("model", f->model, "Read model name")->required();
  sub->add_option("key", f->key, "Only changes of this key (default: the whole model)");
  sub->add_option("--count", f->count,
                  "Stop after N notifications (exit 1 if --timeout-ms passes first)");
  sub->add_option("--timeout-ms", f->timeout_ms, "Stop after this long (default: until Ctrl-C)");
  sub->callback([&g, f] { g.exit = run_watch(g, *f); });
}

}  // namespace rill::cli
