#include "daemons/rill/load_config.h"

#include <charconv>
#include <sstream>

namespace rill::cli {

bool parse_mix(const std::string& text, load_mix& mix, std::string& error) {
  load_mix m{0, 0, 0};
  std::stringstream in(text);
  std::string part;
  std::string seen;  // "kind," for each kind given
  while (std::getline(in, part, ',')) {
    const auto colon = part.find(':');
    if (colon == std::string::npos) {
      error = "--mix: expected kind:percent, got '" + part + "'";
      return false;
    }
    const std::string kind = part.substr(0, colon);
    const std::string num = part.substr(colon + 1);
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (ec != std::errc() || p != num.data() + num.size() || v > 100) {
      error = "--mix: '" + num + "' is not a percentage";
      return false;
    }
    if (seen.find(kind + ",") != std::string::npos) {
      error = "--mix: '" + kind + "' is given twice";
      return false;
    }
    seen += kind + ",";
    if (kind == "create") m.create = v;
    else if (kind == "update") m.update = v;
    else if (kind == "order") m.order = v;
    else {
      error = "--mix: unknown kind '" + kind + "' (create, update, order)";
      return false;
    }
  }
  if (m.create + m.update + m.order != 100) {
    error = "--mix: percentages must sum to 100";
    return false;
  }
  if (m.create == 0) {
    error = "--mix: create must be > 0 (updates and orders need customers)";
    return false;
  }
  mix = m;
  return true;
}

bool validate(const load_config& c, std::string& error) {
  if (c.connections < 1 || c.connections > 1024) error = "--connections must be in 1..1024";
  else if (c.window < 1 || c.window > 1'000'000) error = "--window must be in 1..1000000";
  else if (!(c.rate == 0 || (c.rate >= 0.001 && c.rate <= 1e9)))
    error = "--rate must be 0 (closed loop) or in [0.001, 1e9] commands/s";
  else if (c.count > 1'000'000'000'000ull)
    error = "--count must be in 1..1000000000000";
  else if (!(c.drain_timeout_s > 0 && c.drain_timeout_s <= 3600))
    error = "--drain-timeout must be in (0, 3600] seconds";
  else if (c.count == 0 && !(c.duration_s > 0 && c.duration_s <= 86400))
    error = "--duration must be in (0, 86400] seconds";
  else if (c.batch < 1 || c.batch > 4096) error = "--batch must be in 1..4096";
  else if (c.atomic && c.batch < 2) error = "--atomic needs --batch >= 2";
  else if (c.payload > 512 * 1024) error = "--payload must be <= 524288 bytes";
  else if (c.spin_us > 1'000'000) error = "--spin-us must be <= 1000000";
  else if (c.spin_us > 0 && c.open_loop()) error = "--spin-us is for the closed loop (no --rate)";
  else return true;
  return false;
}

}  // namespace rill::cli
