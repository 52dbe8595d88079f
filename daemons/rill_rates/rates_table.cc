#include "daemons/rill_rates/rates_table.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace rill::daemon {

bool currency_code(std::string_view s, std::string& upper) {
  if (s.size() != 3) return false;
  upper.clear();
  for (char c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') return false;
    upper.push_back(c);
  }
  return true;
}

std::optional<rates_table> rates_table::parse(std::string_view text, std::string& error) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  rates_table t;
  std::string code;
  if (!j.contains("anchor") || !j["anchor"].is_string() ||
      !currency_code(j["anchor"].get<std::string>(), code) ||
      code != j["anchor"].get<std::string>()) {
    error = "'anchor' must be a currency code such as \"EUR\"";
    return std::nullopt;
  }
  t.anchor_ = code;
  t.per_anchor_[code] = 1.0;
  if (!j.contains("rates") || !j["rates"].is_object() || j["rates"].empty()) {
    error = "'rates' must be a non-empty object of code: units per 1 " + t.anchor_;
    return std::nullopt;
  }
  for (auto& [k, v] : j["rates"].items()) {
    if (!currency_code(k, code) || code != k) {
      error = "'" + k + "' is not an upper-case three-letter currency code";
      return std::nullopt;
    }
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() <= 0) {
      error = "rate of " + k + " must be a number > 0";
      return std::nullopt;
    }
    if (k == t.anchor_ && v.get<double>() != 1.0) {
      error = "the anchor's own rate must be 1";
      return std::nullopt;
    }
    t.per_anchor_[k] = v.get<double>();
  }
  return t;
}

std::optional<rates_table> rates_table::load(const std::filesystem::path& file,
                                             std::string& error) {
  std::ifstream in(file);
  if (!in) {
    error = "cannot read " + file.string();
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto t = parse(ss.str(), error);
  if (!t) error = file.string() + ": " + error;
  return t;
}

std::optional<double> rates_table::rate(std::string_view base, std::string_view currency) const {
  if (base == currency) return 1.0;
  auto b = per_anchor_.find(base);
  auto c = per_anchor_.find(currency);
  if (b == per_anchor_.end() || c == per_anchor_.end()) return std::nullopt;
  return b->second / c->second;
}

}  // namespace rill::daemon
