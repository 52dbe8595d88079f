// Name lookups of the schema, over the definitions sorted by name.
#include <algorithm>

#include "core/schema.h"

namespace rill {

namespace {

// Up to 8 definitions (every default aggregate and command list): a linear
// scan that compares lengths before bytes, cheaper than the ordered string
// compares of a search (about a third of the instructions for the default
// domain, and it runs three times per command).
template <class Vec>
auto find_by_name(const Vec& v, std::string_view name) -> decltype(&v[0]) {
  if (v.size() <= 8) {
    for (const auto& d : v) {
      if (d.name.size() == name.size() && d.name == name) return &d;
    }
    return nullptr;
  }
  auto it = std::lower_bound(v.begin(), v.end(), name,
                             [](const auto& d, std::string_view n) { return d.name < n; });
  return it != v.end() && it->name == name ? &*it : nullptr;
}

}  // namespace

const field_def* command_def::find_field(std::string_view name) const {
  return find_by_name(fields, name);
}

const command_def* aggregate_def::find_command(std::string_view name) const {
  return find_by_name(commands, name);
}

const aggregate_def* schema::find_aggregate(std::string_view name) const {
  return find_by_name(aggregates_, name);
}

const command_def* schema::find_command(std::string_view agg, std::string_view cmd) const {
  const aggregate_def* a = find_aggregate(agg);
  return a != nullptr ? a->find_command(cmd) : nullptr;
}

const command_def* schema::find_event(std::string_view agg, std::string_view event) const {
  const aggregate_def* a = find_aggregate(agg);
  if (a == nullptr) return nullptr;
  for (const command_def& c : a->commands) {
    if (c.event == event) return &c;
  }
  return nullptr;
}

}  // namespace rill
