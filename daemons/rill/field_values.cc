#include "daemons/rill/field_values.h"

namespace rill::cli {

namespace {

// JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(const std::string& s) {
  size_t i = 0, n = s.size();
  auto digit = [&](size_t k) { return k < n && s[k] >= '0' && s[k] <= '9'; };
  if (i < n && s[i] == '-') ++i;
  if (!digit(i)) return false;
  if (s[i] == '0')
    ++i;
  else
    while (digit(i)) ++i;
  if (i < n && s[i] == '.') {
    ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  return i == n;
}

// `id` and names ending in `_id`: their `field=value` is always a string.
bool is_id_field(const std::string& name) {
  return name == "id" || (name.size() > 3 && name.ends_with("_id"));
}

}  // namespace

nlohmann::json parse_scalar(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  if (is_json_number(text)) {
    auto v = nlohmann::json::parse(text, nullptr, false);
    if (!v.is_discarded() && v.is_number()) return v;
  }
  return text;
}

bool parse_fields(const std::vector<std::string>& args, nlohmann::json& out, std::string& error) {
  if (!out.is_object()) out = nlohmann::json::object();
  for (const auto& a : args) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0 || (eq == 1 && a[0] == ':')) {
      error = "'" + a + "' is not field=value";
      return false;
    }
    if (a[eq - 1] == ':') {
      auto v = nlohmann::json::parse(a.substr(eq + 1), nullptr, false);
      if (v.is_discarded()) {
        error = "'" + a + "': the value after := is not valid JSON";
        return false;
      }
      out[a.substr(0, eq - 1)] = std::move(v);
    } else {
      std::string name = a.substr(0, eq);
      std::string text = a.substr(eq + 1);
      if (is_id_field(name))
        out[name] = std::move(text);
      else
        out[name] = parse_scalar(text);
    }
  }
  return true;
}

}  // namespace rill::cli
