#include "readmodels/models/settings.h"

#include <cmath>
#include <stdexcept>

#include "core/number_text.h"

namespace rill::readmodels {

settings_reader::settings_reader(std::string_view model, const nlohmann::json& settings)
    : model_(model), settings_(settings) {
  if (!settings_.is_object() && !settings_.is_null())
    throw std::invalid_argument("model " + model_ + ": settings must be a JSON object");
}

void settings_reader::fail(std::string_view key, std::string_view what) const {
  throw std::invalid_argument("model " + model_ + ": setting '" + std::string(key) + "' " +
                              std::string(what));
}

void settings_reader::fail(std::string_view what) const {
  throw std::invalid_argument("model " + model_ + ": " + std::string(what));
}

const nlohmann::json* settings_reader::find(std::string_view key) {
  used_.emplace(key);
  if (!settings_.is_object()) return nullptr;
  auto it = settings_.find(std::string(key));
  return it == settings_.end() || it->is_null() ? nullptr : &*it;
}

std::string settings_reader::string(std::string_view key, std::string_view def) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return std::string(def);
  if (!v->is_string()) fail(key, "must be a string");
  return v->get<std::string>();
}

double settings_reader::number(std::string_view key, double def, double min, double max) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return def;
  if (!v->is_number()) fail(key, "must be a number");
  double d = v->get<double>();
  if (!std::isfinite(d) || d < min || d > max)
    fail(key, "must be between " + number_text(min) + " and " + number_text(max));
  return d;
}

uint64_t settings_reader::uint(std::string_view key, uint64_t def, uint64_t min, uint64_t max) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return def;
  if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0))
    fail(key, "must be a non-negative integer");
  uint64_t n = v->get<uint64_t>();
  if (n < min || n > max)
    fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return n;
}

bool settings_reader::boolean(std::string_view key, bool def) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return def;
  if (!v->is_boolean()) fail(key, "must be true or false");
  return v->get<bool>();
}

nlohmann::json settings_reader::object(std::string_view key) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return nlohmann::json::object();
  if (!v->is_object()) fail(key, "must be an object");
  return *v;
}

void settings_reader::finish() const {
  if (!settings_.is_object()) return;
  for (const auto& [key, value] : settings_.items()) {
    if (!key.empty() && key[0] == '_') continue;
    if (!used_.contains(key)) fail(key, "is not a setting of this model");
  }
}

bool normalize_currency(std::string_view s, std::string& out) {
  if (s.size() != 3) return false;
  std::string r(3, ' ');
  for (size_t i = 0; i < 3; ++i) {
    char c = s[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') return false;
    r[i] = c;
  }
  out = std::move(r);
  return true;
}

}  // namespace rill::readmodels
