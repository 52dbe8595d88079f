#pragma once
// `field=value` arguments of `rill send` and `rill query`:
//   name=Ada        a string
//   amount=12.5     a number (JSON number syntax: 7, -3, 1.5e3; "007" stays a string)
//   vip=true        a boolean (true / false)
//   tags:=["a"]     any JSON value, given as JSON (httpie's convention)
//   id=42           always a string for a field named `id` or ending in `_id`
//   customer_id=7   (ids are strings in rill); `user_id:=42` sends a number
// A later field of the same name replaces an earlier one.
//
// Thread-safety: pure functions.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rill::cli {

// The value a `field=value` text stands for.
nlohmann::json parse_scalar(const std::string& text);
// Fills `out` (an object) from the arguments; false with `error` naming the
// bad argument.
bool parse_fields(const std::vector<std::string>& args, nlohmann::json& out, std::string& error);

}  // namespace rill::cli
