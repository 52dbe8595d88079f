#pragma once
// Output for people: aligned tables and a readable rendering of JSON values
// (query results, replies). Machine output (--json) bypasses this.
//
// Thread-safety: functions only; they write to the given stream.
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rill::cli {

// Columns separated by two spaces, each as wide as its widest cell; numbers
// (cells that look numeric) right-aligned.
void print_table(std::ostream& out, const std::vector<std::string>& headers,
                 const std::vector<std::vector<std::string>>& rows);

// A scalar as text: strings unquoted, null as "-", numbers as JSON writes them.
std::string scalar_text(const nlohmann::json& v);

// An array of objects as a table (columns: keys in first-seen order), an
// object as "key  value" lines, an array of scalars one per line, anything
// else as indented JSON.
void print_value(std::ostream& out, const nlohmann::json& v);

}  // namespace rill::cli
