#include "daemons/rill/model_list.h"

#include <algorithm>

#include "readmodels/registry.h"

namespace rill::cli {

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = readmodels::model_names();
  return names;
}

bool is_known_model(const std::string& name) {
  const auto& n = model_names();
  return std::find(n.begin(), n.end(), name) != n.end();
}

}  // namespace rill::cli
