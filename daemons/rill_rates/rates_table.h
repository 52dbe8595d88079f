#pragma once
// rates_table: exchange rates loaded from a rates file (config/rates.json),
// answering any pair as a cross rate through the anchor currency.
//
// File: {"anchor": "EUR", "rates": {"USD": 1.0705, ...}, ...other keys ignored}
// where rates[C] = units of C per 1 unit of the anchor (the anchor itself is
// 1 and may be omitted). Codes are three ASCII letters, upper case; rates
// are finite and > 0. Anything else rejects the whole file.
//
// rate(base, currency) = units of `base` per 1 unit of `currency`
//                      = rates[base] / rates[currency]; 1 when base == currency.
//
// Ownership: a value type. Thread-safety: const methods are thread-safe.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace rill::daemon {

// config/rates.json as built into rill-rates (default_rates.cc.in).
extern const std::string_view default_rates_json;

class rates_table {
 public:
  // Parses a rates file's text; nullopt with `error` set if it is malformed.
  static std::optional<rates_table> parse(std::string_view json, std::string& error);
  static std::optional<rates_table> load(const std::filesystem::path& file, std::string& error);

  // Units of `base` per 1 unit of `currency` (codes in upper case): 1 when
  // they are the same code, nullopt if either currency is unknown.
  std::optional<double> rate(std::string_view base, std::string_view currency) const;

  const std::string& anchor() const { return anchor_; }
  size_t size() const { return per_anchor_.size(); }

 private:
  std::string anchor_;
  std::map<std::string, double, std::less<>> per_anchor_;
};

// True for three ASCII letters; `upper` receives them in upper case.
bool currency_code(std::string_view s, std::string& upper);

}  // namespace rill::daemon
