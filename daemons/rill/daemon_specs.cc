#include "daemons/rill/daemon_specs.h"

#include <unistd.h>

#include "daemons/rill/model_list.h"

namespace rill::cli {

namespace fs = std::filesystem;

transport::endpoints make_endpoints(const fs::path& data) {
  auto e = transport::default_endpoints(data);
  for (const auto& m : model_names()) e.models[m] = transport::default_model_endpoint(data, m);
  return e;
}

std::string rates_endpoint(const fs::path& data) {
  return "ipc://" + (transport::run_dir(data) / "rates").string();
}

std::vector<daemon_spec> make_daemon_specs(const up_options& o) {
  const auto logs = o.data / "logs";
  const auto run = transport::run_dir(o.data);
  const auto ep = make_endpoints(o.data);
  std::vector<daemon_spec> out;
  auto add = [&](std::string name, daemon_kind kind, std::string binary,
                 std::vector<std::string> args) {
    daemon_spec s;
    s.kind = kind;
    s.binary = o.bin_dir / binary;
    s.args = {"--data", o.data.string()};
    s.args.insert(s.args.end(), args.begin(), args.end());
    s.log = logs / (name + ".log");
    s.pid_file = run / (name + ".pid");
    s.name = std::move(name);
    out.push_back(std::move(s));
    return &out.back();
  };

  std::vector<std::string> core_args = {"--command", ep.command, "--events",
                                        ep.events,   "--replay", ep.replay};
  if (!o.schema.empty()) core_args.insert(core_args.end(), {"--schema", o.schema});
  if (!o.sync.empty()) core_args.insert(core_args.end(), {"--sync", o.sync});
  if (!o.config.empty()) core_args.insert(core_args.end(), {"--config", o.config});
  add("rill-core", daemon_kind::core, "rill-core", core_args);
  std::vector<std::string> shared;
  if (!o.config.empty()) shared = {"--config", o.config};
  add("rill-notify", daemon_kind::notify, "rill-notify", shared);
  add("rill-rates", daemon_kind::rates, "rill-rates", shared);
  for (const auto& m : model_names()) {
    std::vector<std::string> args = {"--models", m};
    if (!o.config.empty()) args.insert(args.end(), {"--config", o.config});
    add("rill-proj-" + m, daemon_kind::proj, "rill-proj", args)->model = m;
  }
  return out;
}

std::string binary_problem(const fs::path& binary) {
  std::error_code ec;
  const std::string name = binary.filename().string();
  if (!fs::exists(binary, ec))
    return name + " not found next to rill (looked for " + binary.string() + ")";
  if (!fs::is_regular_file(binary, ec) || ::access(binary.c_str(), X_OK) != 0)
    return name + " is not an executable file (" + binary.string() + ")";
  return {};
}

fs::path self_bin_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return fs::current_path(ec);
  return exe.parent_path();
}

bool valid_sync_mode(const std::string& s) {
  if (s == "none" || s == "batch") return true;
  const std::string prefix = "interval:";
  if (s.rfind(prefix, 0) != 0 || s.size() == prefix.size() || s.size() > prefix.size() + 9)
    return false;
  for (size_t i = prefix.size(); i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return std::stoul(s.substr(prefix.size())) > 0;
}

const char* kind_name(daemon_kind k) {
  switch (k) {
    case daemon_kind::core:
      return "core";
    case daemon_kind::proj:
      return "proj";
    case daemon_kind::notify:
      return "notify";
    case daemon_kind::rates:
      return "rates";
  }
  return "?";
}

}  // namespace rill::cli
