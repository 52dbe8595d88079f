#pragma once
// The read models `rill up` starts (one rill-proj per model) and that
// `rill status` / `rill query` know of. The one place that names them.
#include <string>
#include <vector>

namespace rill::cli {

// The default domain's read models, in start order: readmodels/registry.h.
const std::vector<std::string>& model_names();
bool is_known_model(const std::string& name);

}  // namespace rill::cli
