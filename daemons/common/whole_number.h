#pragma once
// Counts, sizes and intervals given to a daemon, on its command line or in
// its config file, are whole numbers that fit their field: "-1" must not
// wrap to 2^64-1, "1.5" must not be cut to 1, 2^40 must not be cut to 32
// bits. CLI11 and nlohmann::json would do each of these silently.
// Thread-safety: pure functions.
#include <charconv>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace rill::daemon {

template <class T>
std::string whole_number_rule() {
  return "must be a whole number" + std::string(std::is_signed_v<T> ? "" : " >= 0") +
         " that fits " + std::to_string(sizeof(T) * 8) + " bits";
}

// "" when `text` is a whole number of type T, else what it must be.
template <class T>
std::string whole_number_problem(const std::string& text) {
  T n{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) return {};
  return whole_number_rule<T>();
}

// Adds the check to a CLI11 option bound to a field of type T.
template <class T>
CLI::Option* whole_number_flag(CLI::Option* opt) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  return opt->check([](const std::string& v) { return whole_number_problem<T>(v); });
}

// A config file's value for a field of type T. Throws std::domain_error
// saying what it must be (the caller names the file and the key).
template <class T>
T whole_number_from_json(const nlohmann::json& v) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (std::is_signed_v<T> && i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
        i <= static_cast<int64_t>(std::numeric_limits<T>::max()))
      return static_cast<T>(i);
  }
  throw std::domain_error(whole_number_rule<T>());
}

}  // namespace rill::daemon
