#include "daemons/rill/event_text.h"

#include "daemons/rill/process_util.h"
#include "transport/json_msgpack.h"

namespace rill::cli {

nlohmann::json event_json(std::span<const char> body) {
  auto j = transport::msgpack_to_json(body);
  if (j.is_discarded() || !j.is_object()) return nlohmann::json::value_t::discarded;
  return j;
}

std::string event_line(const nlohmann::json& ev) {
  // A string with a control character (an id may hold any UTF-8) is shown
  // as a quoted JSON string, so that it cannot break the line or fake one.
  auto str = [&](const char* k) {
    auto it = ev.find(k);
    if (it == ev.end() || !it->is_string()) return std::string();
    const auto& s = it->get_ref<const std::string&>();
    for (unsigned char c : s)
      if (c < 0x20 || c == 0x7f) return it->dump();
    return s;
  };
  auto num = [&](const char* k) -> std::string {
    auto it = ev.find(k);
    return it != ev.end() && it->is_number() ? it->dump() : std::string("?");
  };
  std::string line = "#" + num("seq") + "  ";
  auto ts = ev.find("ts");
  line += ts != ev.end() && ts->is_number_unsigned() ? format_utc_ms(ts->get<uint64_t>()) : "-";
  line += "  " + str("agg") + "/" + str("type") + "  " + str("id") + " v" + num("ver");
  auto data = ev.find("data");
  line += "  " + (data != ev.end() ? data->dump() : std::string("{}"));
  if (!str("key").empty()) line += "  key=" + str("key");
  if (!str("corr").empty()) line += "  corr=" + str("corr");
  return line;
}

}  // namespace rill::cli
