#include "daemons/rill/model_status.h"

#include <algorithm>

namespace rill::cli {

const nlohmann::json& status_body(const nlohmann::json& reply) {
  if (reply.is_object()) {
    auto it = reply.find("result");
    if (it != reply.end() && it->is_object()) return *it;
  }
  return reply;
}

double rebuild_fraction(const nlohmann::json& status) {
  if (!status.is_object()) return 0.0;
  auto it = status.find("rebuild_progress");
  if (it == status.end()) return 0.0;
  double p = 0.0;
  if (it->is_number()) {
    p = it->get<double>();
    if (p > 1.0) p /= 100.0;
  } else if (it->is_object()) {
    auto seq = it->find("seq"), head = it->find("head");
    if (seq != it->end() && head != it->end() && seq->is_number() && head->is_number() &&
        head->get<double>() > 0)
      p = seq->get<double>() / head->get<double>();
  }
  return std::clamp(p, 0.0, 1.0);
}

}  // namespace rill::cli
