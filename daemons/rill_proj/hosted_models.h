#pragma once
// hosted_models: the read models rill-proj can host: the default domain's
// models and sagas (readmodels/registry.h) and the runtime's built-in
// journal_stats (readmodels/runtime_journal_stats.h).
//
// Thread-safety: pure functions (the models they create are not shared).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "readmodels/read_model.h"

namespace rill::proj {

// A new instance of model `name`, or nullptr if no such model exists.
// Throws std::exception when the model refuses its configuration.
std::unique_ptr<readmodels::read_model> make_hosted_model(std::string_view name,
                                                          const readmodels::model_config& cfg);

// Every name make_hosted_model() knows, for the error message.
std::vector<std::string> hosted_model_names();

}  // namespace rill::proj
