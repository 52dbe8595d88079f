#pragma once
// settings_reader: reads one model's settings (model_config::settings, from
// the "models" section of config/default.json or the user's config file) with
// a default and a range check per setting.
//
// Keys beginning with '_' are comments and ignored ("_doc" in the shipped
// config). Any other key the model does not read is an error, found by
// finish(), so a misspelt setting is reported at start instead of silently
// falling back to its default.
//
// Errors throw std::invalid_argument naming the model and the setting: this
// runs once at startup (STYLE.md rule 5 allows throwing there).
// Thread-safety: none needed (used once, by one thread).
#include <array>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace rill::readmodels {

class settings_reader {
 public:
  settings_reader(std::string_view model, const nlohmann::json& settings);

  std::string string(std::string_view key, std::string_view def);
  double number(std::string_view key, double def, double min, double max);
  uint64_t uint(std::string_view key, uint64_t def, uint64_t min, uint64_t max);
  bool boolean(std::string_view key, bool def);
  // A nested object (empty object when absent); its own keys are checked by
  // the caller with a nested settings_reader.
  nlohmann::json object(std::string_view key);
  // Throws if a key that is not a comment was never read.
  void finish() const;

  [[noreturn]] void fail(std::string_view key, std::string_view what) const;
  // The same for a problem that is not one setting's: "model M: <what>".
  [[noreturn]] void fail(std::string_view what) const;

 private:
  const nlohmann::json* find(std::string_view key);
  std::string model_;
  const nlohmann::json& settings_;
  std::set<std::string, std::less<>> used_;
};

// A currency code as the models compare it: three ASCII letters, upper case.
// Returns false (out untouched) when s is not three letters.
bool normalize_currency(std::string_view s, std::string& out);

// The same into a fixed buffer (no std::string; the event hot path). Returns
// false (out unspecified) when s is not three letters.
inline bool normalize_currency(std::string_view s, std::array<char, 3>& out) {
  if (s.size() != 3) return false;
  for (size_t i = 0; i < 3; ++i) {
    char c = s[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') return false;
    out[i] = c;
  }
  return true;
}
inline std::string_view as_view(const std::array<char, 3>& code) { return {code.data(), 3}; }

}  // namespace rill::readmodels
