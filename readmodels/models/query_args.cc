#include "readmodels/models/query_args.h"

#include <algorithm>

#include "core/utf8.h"
#include "readmodels/models/msgpack_fields.h"

namespace rill::readmodels {
namespace {

constexpr size_t max_string_arg = 1024;

errc bad(std::string& message, std::string text) {
  message = std::move(text);
  return errc::bad_request;
}

}  // namespace

const msgpack::object* query_args::find(std::string_view key) const {
  const msgpack::object* v = map_find(&args_, key);
  return v == nullptr || v->type == msgpack::type::NIL ? nullptr : v;
}

errc query_args::check_known(std::initializer_list<std::string_view> known,
                             std::string& message) const {
  if (args_.type == msgpack::type::NIL) return errc::ok;
  if (args_.type != msgpack::type::MAP) return bad(message, "args must be a map");
  const auto& m = args_.via.map;
  for (uint32_t i = 0; i < m.size; ++i) {
    std::string_view k;
    if (!as_str(m.ptr[i].key, k)) return bad(message, "args keys must be strings");
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      std::string name(utf8_prefix(k, 64));
      return bad(message, "unknown argument '" + name + "'");
    }
  }
  return errc::ok;
}

errc query_args::required_string(std::string_view key, std::string& out,
                                 std::string& message) const {
  const msgpack::object* v = find(key);
  if (v == nullptr) return bad(message, "argument '" + std::string(key) + "' is required");
  std::string_view s;
  if (as_str(*v, s)) {
    if (s.empty() || s.size() > max_string_arg)
      return bad(message, "argument '" + std::string(key) + "' must be 1..1024 bytes");
    out.assign(s);
    return errc::ok;
  }
  return bad(message, "argument '" + std::string(key) + "' must be a string");
}

errc query_args::optional_uint(std::string_view key, uint64_t max, uint64_t& out,
                               std::string& message) const {
  const msgpack::object* v = find(key);
  if (v == nullptr) return errc::ok;
  if (v->type != msgpack::type::POSITIVE_INTEGER)
    return bad(message, "argument '" + std::string(key) + "' must be a non-negative integer");
  const uint64_t n = v->via.u64;
  if (n > max)
    return bad(message,
               "argument '" + std::string(key) + "' must be at most " + std::to_string(max));
  out = n;
  return errc::ok;
}

errc query_args::required_uint(std::string_view key, uint64_t max, uint64_t& out,
                               std::string& message) const {
  if (find(key) == nullptr) return bad(message, "argument '" + std::string(key) + "' is required");
  return optional_uint(key, max, out, message);
}

}  // namespace rill::readmodels
