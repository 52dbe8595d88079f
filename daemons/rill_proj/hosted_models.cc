#include "daemons/rill_proj/hosted_models.h"

#include "readmodels/registry.h"
#include "readmodels/runtime_journal_stats.h"

namespace rill::proj {

std::unique_ptr<readmodels::read_model> make_hosted_model(std::string_view name,
                                                          const readmodels::model_config& cfg) {
  if (name == readmodels::journal_stats::kName)
    return std::make_unique<readmodels::journal_stats>();
  return readmodels::make_model(name, cfg);
}

std::vector<std::string> hosted_model_names() {
  std::vector<std::string> names = readmodels::model_names();
  names.emplace_back(readmodels::journal_stats::kName);
  return names;
}

}  // namespace rill::proj
