#include "daemons/rill/supervisor_state.h"

#include <nlohmann/json.hpp>

#include "daemons/rill/process_util.h"

namespace rill::cli {

bool write_supervisor_state(const std::filesystem::path& file, const supervisor_record& r) {
  nlohmann::json daemons = nlohmann::json::array();
  for (const auto& d : r.daemons)
    daemons.push_back({{"name", d.name},
                       {"kind", d.kind},
                       {"model", d.model},
                       {"pid", d.pid},
                       {"started_ns", d.started_ns},
                       {"restarts", d.restarts},
                       {"state", d.state},
                       {"last_exit", d.last_exit},
                       {"log", d.log},
                       {"binary", d.binary}});
  nlohmann::json j = {{"pid", r.pid},
                      {"started_ns", r.started_ns},
                      {"data", r.data},
                      {"state", r.state},
                      {"daemons", daemons}};
  return write_file_atomic(file, j.dump(2) + "\n");
}

std::optional<supervisor_record> read_supervisor_state(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto str = [](const nlohmann::json& o, const char* k) {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto num = [](const nlohmann::json& o, const char* k) -> uint64_t {
    auto it = o.find(k);
    return it != o.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
  };
  supervisor_record r;
  r.pid = static_cast<pid_t>(num(j, "pid"));
  r.started_ns = num(j, "started_ns");
  r.data = str(j, "data");
  r.state = str(j, "state");
  auto it = j.find("daemons");
  if (it != j.end() && it->is_array()) {
    for (const auto& d : *it) {
      if (!d.is_object()) continue;
      daemon_record rec;
      rec.name = str(d, "name");
      rec.kind = str(d, "kind");
      rec.model = str(d, "model");
      rec.pid = static_cast<pid_t>(num(d, "pid"));
      rec.started_ns = num(d, "started_ns");
      rec.restarts = static_cast<uint32_t>(num(d, "restarts"));
      rec.state = str(d, "state");
      rec.last_exit = str(d, "last_exit");
      rec.log = str(d, "log");
      rec.binary = str(d, "binary");
      r.daemons.push_back(std::move(rec));
    }
  }
  return r;
}

}  // namespace rill::cli
