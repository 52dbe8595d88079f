#pragma once
// Small readers and writers for the MessagePack values the models handle:
// event data fields (DOMAIN.md) and numbers in query results.
//
// Event data was validated by rill-core against the schema, but a model never
// trusts it: every reader checks the type and returns false when a field is
// absent or of the wrong kind, and the model then ignores the event.
// Thread-safety: pure functions; thread-safe. Never throw (packing may throw
// bad_alloc).
#include <string_view>

#include "core/msgpack.h"
#include "readmodels/read_model.h"

namespace rill::readmodels {

// The value of `key` in `map`; nullptr when map is null, not a map, or has no
// such string key.
const msgpack::object* map_find(const msgpack::object* map, std::string_view key);

// A str value as a view into the object's zone.
bool as_str(const msgpack::object& o, std::string_view& out);
// Any integer or float that is finite, as a double.
bool as_number(const msgpack::object& o, double& out);

// `key` of `map` as a str / a finite number.
bool get_str(const msgpack::object* map, std::string_view key, std::string_view& out);
bool get_number(const msgpack::object* map, std::string_view key, double& out);

// Packs v as an integer when it holds one exactly (|v| < 2^53), else as a
// float64, so 100 stays 100 in JSON and 12.5 stays 12.5.
void pack_number(packer& pk, double v);
void pack_str(packer& pk, std::string_view s);

}  // namespace rill::readmodels
