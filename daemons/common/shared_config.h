#pragma once
// One JSON config file can serve every daemon of a data directory (`rill up
// --config FILE` hands the same file to each of them). Its top level holds
// options of one or more daemons, and it may hold one section per daemon:
//
//   {"sync": "batch",                      rill-core
//    "log_level": "warn",                  every daemon that has the option
//    "core":   {...},  "proj": {...},      one daemon's options
//    "notify": {...},  "rates": {...},
//    "models": {"orders": {...}}}          read-model settings (rill-proj)
//
// Each daemon applies the keys it knows and passes over the ones another
// daemon knows. A key no daemon knows is a typo: every daemon refuses it
// (exit status 2), so a misspelt option is never silently dropped.
//
// Thread-safety: pure functions over constant tables.
#include <string_view>

namespace rill::daemon {

// True when some rill daemon accepts `key` at the top level of a config file.
bool known_top_level_key(std::string_view key);

// True when `key` names a daemon's section ("core", "proj", "notify",
// "rates") or the read-model settings ("models").
bool section_key(std::string_view key);

}  // namespace rill::daemon
