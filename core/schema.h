#pragma once
// The domain schema: which aggregates exist, which commands each accepts,
// which event each command becomes and what its data must look like. Parsed
// once at start from a JSON file (format: docs/schema.md; the default domain
// of DOMAIN.md is schemas/default.json, embedded in the binary).
//
// Lookups are by name and allocate nothing. Aggregates are numbered 0..n-1
// in name order (aggregate_def::index), which the validator's index uses.
// Commands and fields are sorted by name.
//
// Ownership: a schema owns its definitions; pointers it returns live as long
// as it. Thread-safety: immutable after parse(); every method is thread-safe.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/msgpack.h"

namespace rill {

enum class field_type : uint8_t { string, number, integer, boolean, map, array, any };
std::string_view to_string(field_type t);

struct field_def {
  std::string name;
  field_type type = field_type::any;
  bool optional = false;
  std::vector<std::string> one_of;  // string fields: allowed values (empty = any)
  std::vector<std::string> one_of_sorted;  // the same, sorted, for lookups (schema::parse sets it)
  std::string ref;                  // string fields: aggregate type that must hold this id
  int ref_index = -1;               // index of `ref` in the schema, -1 = none
  // number / integer bounds, as the schema wrote them: an integer bound
  // exactly (a long double holds every int64 and uint64, and every double),
  // so that values near 2^53 and beyond compare exactly.
  std::optional<long double> gt, ge, lt, le;
  std::optional<size_t> min_len, max_len;    // string: code points; array/map: elements
  size_t letters = 0;               // string: exactly this many ASCII letters (0 = no rule)
  uint32_t bit = 0;                 // position in the command's field list (0..63)

  // A string value against letters, one_of and the lengths (the type is the
  // caller's): ok, or bad_request with a message naming the field.
  errc check_string(std::string_view s, std::string& message) const;
};

struct command_def {
  std::string name;
  std::string event;        // event type it becomes
  uint16_t aggregate = 0;   // index of its aggregate
  bool creates = false;     // creates the aggregate (must not exist)
  bool at_least_one = false;  // data must name at least one field
  std::vector<field_def> fields;  // sorted by name; at most 64
  uint64_t required_mask = 0;     // bits of the non-optional fields
  bool has_refs = false;          // some field has a ref

  // Field by name, nullptr if the command has none by that name.
  const field_def* find_field(std::string_view name) const;

  // Checks data (a map, or nullptr for {}) against the fields: every key a
  // string naming a field, no duplicate, every required field present, types,
  // one_of, bounds, lengths, letters, at_least_one. Reference fields are only
  // type-checked here (existence is the validator's job). Returns ok or
  // bad_request with a message naming the field, e.g.
  // "data.amount: must be > 0".
  errc check_data(const msgpack::object* data, std::string& message) const;
};

struct aggregate_def {
  std::string name;
  uint16_t index = 0;
  std::vector<command_def> commands;  // sorted by name

  const command_def* find_command(std::string_view name) const;
};

class schema {
 public:
  // Parses a schema from JSON text. On any mistake (bad JSON, unknown key,
  // wrong type, unknown field type, ref to a missing aggregate, bounds on a
  // non-number, one_of on a non-string, duplicate or invalid names, more than
  // 64 fields in a command, ...) returns nullptr and sets error to a message
  // that says where ("aggregates.order.commands.CREATE_ORDER.fields.amount:
  // unknown key \"gtt\""). Never throws (except bad_alloc).
  static std::unique_ptr<schema> parse(std::string_view json, std::string& error);

  // The default domain (DOMAIN.md), parsed once on first use. Thread-safe.
  static const schema& default_schema();

  const aggregate_def* find_aggregate(std::string_view name) const;
  const command_def* find_command(std::string_view agg, std::string_view cmd) const;
  const aggregate_def& aggregate(size_t index) const { return aggregates_[index]; }
  size_t aggregate_count() const { return aggregates_.size(); }
  const std::vector<aggregate_def>& aggregates() const { return aggregates_; }

  // Every command's event type -> its command (for consumers that only see
  // events). nullptr if no command of `agg` produces `event`.
  const command_def* find_event(std::string_view agg, std::string_view event) const;

 private:
  std::vector<aggregate_def> aggregates_;  // sorted by name, index = position
};

}  // namespace rill
