#pragma once
// MessagePack to JSON for the clients' convenience API (rpc_client, the CLI).
// nlohmann's decoder refuses a map key that is not a string; rill's core
// refuses such keys in new commands, but a journal may hold events written
// before it did, and a reply carrying one must not pass for no reply. This
// decoder falls back to msgpack-c and writes such a key as its JSON text
// (1 -> "1", [1,2] -> "[1,2]"). Binary and extension values become
// nlohmann binary values. Thread-safe; never throws.
#include <span>

#include <nlohmann/json.hpp>

namespace rill::transport {

// The value, or a discarded json when the bytes are not one MessagePack value.
nlohmann::json msgpack_to_json(std::span<const char> bytes);

}  // namespace rill::transport
