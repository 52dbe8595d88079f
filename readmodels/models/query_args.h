#pragma once
// query_args: checked access to a query's `args` map (PROTOCOL.md "Queries").
// Every reader returns ok or bad_request with a message naming the argument;
// nothing is trusted. A nil `args` counts as an empty map. Arguments the query
// does not define are rejected (check_known), so a typo such as "limt" is an
// error rather than a silently ignored option. Types are strict: an id
// given as an integer, or a count given as a string, is bad_request like any
// other argument of the wrong type (`rill query` sends `id=42` as a string:
// daemons/rill/field_values.h).
//
// Borrows the args object, which must outlive it. Thread-safety: none needed
// (a value used by one query).
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/msgpack.h"

namespace rill::readmodels {

class query_args {
 public:
  explicit query_args(const msgpack::object& args) : args_(args) {}

  // bad_request when args is neither a map nor nil, or holds a key that is
  // not a string or not in `known`.
  errc check_known(std::initializer_list<std::string_view> known, std::string& message) const;
  // A required non-empty string (max 1024 bytes).
  errc required_string(std::string_view key, std::string& out, std::string& message) const;
  // An optional non-negative integer no larger than max; `out` keeps its
  // value when the argument is absent or nil.
  errc optional_uint(std::string_view key, uint64_t max, uint64_t& out, std::string& message) const;
  // The same, but the argument must be present.
  errc required_uint(std::string_view key, uint64_t max, uint64_t& out, std::string& message) const;

 private:
  const msgpack::object* find(std::string_view key) const;
  const msgpack::object& args_;
};

}  // namespace rill::readmodels
