#pragma once
// `field=value` arguments of `rill send` and `rill query`:
//   name=Ada        a string
//   amount=12.5     a number (JSON number syntax: 7, -3, 1.5e3; "007" stays a string)
//   vip=true        a boolean (true / false)
//   tags:=["a"]     any JSON value, given as JSON (httpie's convention)
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
