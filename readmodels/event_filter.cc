#include "readmodels/event_filter.h"

namespace rill::readmodels {

void event_filter::add(const read_model& m) {
  const std::span<const event_kind> kinds = m.reads();
  any_model_ = true;
  if (kinds.empty()) reads_all_ = true;
  for (const event_kind& k : kinds) {
    if (!listed(k.agg, k.type)) kinds_.push_back({std::string(k.agg), std::string(k.type)});
  }
  filtering_ = any_model_ && !reads_all_;
}

bool event_filter::listed(std::string_view agg, std::string_view type) const {
  for (const kind& k : kinds_) {
    if (k.type == type && k.agg == agg) return true;
  }
  return false;
}

}  // namespace rill::readmodels
