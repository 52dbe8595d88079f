#include "transport/endpoints.h"

#include <charconv>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace rill::transport {

std::filesystem::path run_dir(const std::filesystem::path& data) {
  return std::filesystem::absolute(data).lexically_normal() / "run";
}

std::string default_model_endpoint(const std::filesystem::path& data, const std::string& model) {
  return "ipc://" + (run_dir(data) / ("model." + model)).string();
}

endpoints default_endpoints(const std::filesystem::path& data) {
  auto run = run_dir(data);
  endpoints e;
  e.command = "ipc://" + (run / "command").string();
  e.events = "ipc://" + (run / "events").string();
  e.replay = "ipc://" + (run / "replay").string();
  e.notify = "ipc://" + (run / "notify").string();
  e.notify_in = "ipc://" + (run / "notify-in").string();
  return e;
}

void write_endpoints_json(const std::filesystem::path& file, const endpoints& e) {
  nlohmann::json j = {{"command", e.command}, {"events", e.events},   {"replay", e.replay},
                      {"notify", e.notify},   {"notify_in", e.notify_in}, {"models", e.models}};
  auto tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, file);
}

std::optional<endpoints> read_endpoints_json(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return std::nullopt;
  auto bad = [&](const std::string& why) {
    return endpoints_error(
        file.string() + ": " + why +
        " (it is written by `rill up`; stop rill and start it again to rewrite it)");
  };
  std::ifstream in(file);
  if (!in) throw bad("cannot be read");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) throw bad("is not valid JSON");
  if (!j.is_object()) throw bad("is not a JSON object");
  endpoints e;
  auto endpoint = [&](const std::string& where, const nlohmann::json& v) {
    if (!v.is_string()) throw bad(where + " is not a string");
    auto ep = v.get<std::string>();
    if (!ep.starts_with("ipc://") && !ep.starts_with("tcp://"))
      throw bad(where + " '" + ep + "' is not an ipc:// or tcp:// endpoint");
    if (ep == "ipc://") throw bad(where + " '" + ep + "' has no path");
    if (ep.starts_with("tcp://")) {  // host:port, the port a number
      const std::string_view hp = std::string_view(ep).substr(6);
      const size_t colon = hp.rfind(':');
      const std::string_view port = colon == std::string_view::npos ? "" : hp.substr(colon + 1);
      unsigned n = 0;
      const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
      if (colon == 0 || colon == std::string_view::npos || ec != std::errc() ||
          end != port.data() + port.size() || n == 0 || n > 65535)
        throw bad(where + " '" + ep + "' is not tcp://HOST:PORT");
    }
    if (auto p = endpoint_problem(ep); !p.empty()) throw bad(p);
    return ep;
  };
  auto str = [&](const char* k) {
    if (!j.contains(k)) throw bad(std::string("has no ") + k);
    return endpoint(k, j[k]);
  };
  e.command = str("command");
  e.events = str("events");
  e.replay = str("replay");
  e.notify = str("notify");
  e.notify_in = str("notify_in");
  if (!j.contains("models")) throw bad("has no models");
  {
    if (!j["models"].is_object()) throw bad("models is not an object");
    for (auto& [k, v] : j["models"].items()) e.models[k] = endpoint("models." + k, v);
  }
  return e;
}

endpoints discover_endpoints(const std::filesystem::path& data) {
  auto d = default_endpoints(data);
  auto f = read_endpoints_json(run_dir(data) / "endpoints.json");
  return f ? *f : d;  // a file is whole (read_endpoints_json), or refused
}

std::string endpoint_problem(const std::string& ep) {
  constexpr std::string_view kIpc = "ipc://";
  if (ep.rfind("tcp://", 0) == 0) {
    // A port libzmq would wrap (99999 is 34463) or leave to chance (0): no
    // client could find it. ('*' stays: tests bind a free port with it.)
    const size_t colon = ep.rfind(':');
    const std::string port = colon > 5 ? ep.substr(colon + 1) : std::string();
    if (port == "*") return {};
    const bool digits = !port.empty() && port.size() <= 5 &&
                        port.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoul(port) < 1 || std::stoul(port) > 65535)
      return "endpoint '" + ep + "': the port must be 1..65535";
    return {};
  }
  if (ep.rfind("inproc://", 0) == 0)
    return "endpoint '" + ep +
           "': inproc:// reaches only sockets inside one process; a daemon's endpoints "
           "need ipc://PATH or tcp://HOST:PORT";
  if (ep.compare(0, kIpc.size(), kIpc) != 0)
    return "endpoint '" + ep + "': not ipc://PATH or tcp://HOST:PORT";
  if (ep.size() == kIpc.size()) return "endpoint '" + ep + "': no path after ipc://";
  const size_t len = ep.size() - kIpc.size();
  if (len <= kMaxIpcPath) return {};
  return "endpoint " + ep + ": its path is " + std::to_string(len) +
         " bytes, more than a Unix socket's limit of " + std::to_string(kMaxIpcPath) +
         " (use a shorter data directory, or tcp:// endpoints)";
}

std::string endpoints_problem(const endpoints& e) {
  for (const auto* ep : {&e.command, &e.events, &e.replay, &e.notify, &e.notify_in})
    if (auto why = endpoint_problem(*ep); !why.empty()) return why;
  for (const auto& [name, ep] : e.models)
    if (auto why = endpoint_problem(ep); !why.empty()) return why;
  return {};
}

}  // namespace rill::transport
