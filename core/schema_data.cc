// command_def::check_data: a command's data against its field definitions.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/number_text.h"
#include "core/request.h"
#include "core/schema.h"
#include "core/utf8.h"

namespace rill {

namespace {

constexpr size_t quote_max = 64;

std::string_view as_view(const msgpack::object& o) { return {o.via.str.ptr, o.via.str.size}; }

errc fail(std::string& message, std::string_view field, std::string_view what) {
  message = "data.";
  message += utf8_prefix(field, quote_max);
  message += ": ";
  message += what;
  return errc::bad_request;
}

// A bound as the schema wrote it: an integer in full, else number_text.
std::string bound_text(long double b) {
  if (b == std::trunc(b)) {
    if (b >= 0 && b < 18446744073709551616.0L) return std::to_string(static_cast<uint64_t>(b));
    if (b < 0 && b >= -9223372036854775808.0L) return std::to_string(static_cast<int64_t>(b));
  }
  return number_text(static_cast<double>(b));
}

// v exactly: an int64, a uint64 or a double, each held whole by a long double.
errc check_bounds(const field_def& f, long double v, std::string& message) {
  if (f.gt && !(v > *f.gt)) return fail(message, f.name, "must be > " + bound_text(*f.gt));
  if (f.ge && !(v >= *f.ge)) return fail(message, f.name, "must be >= " + bound_text(*f.ge));
  if (f.lt && !(v < *f.lt)) return fail(message, f.name, "must be < " + bound_text(*f.lt));
  if (f.le && !(v <= *f.le)) return fail(message, f.name, "must be <= " + bound_text(*f.le));
  return errc::ok;
}

errc check_length(const field_def& f, size_t n, const char* unit, std::string& message) {
  if (f.min_len && n < *f.min_len) {
    return fail(message, f.name,
                "must have at least " + std::to_string(*f.min_len) + " " + unit);
  }
  if (f.max_len && n > *f.max_len) {
    return fail(message, f.name,
                "must have at most " + std::to_string(*f.max_len) + " " + unit);
  }
  return errc::ok;
}

// What a map, array or any value may hold: every map key a string, every
// number finite, and no binary or extension value, so that each event reads
// as JSON (the CLI's tail and dump, clients in other languages). The structural check bounds the
// depth (core/msgpack_check.h), so the recursion is bounded.
bool nested_ok(const msgpack::object& v) {
  switch (v.type) {
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return std::isfinite(v.via.f64);
    case msgpack::type::BIN:
    case msgpack::type::EXT:
      return false;
    case msgpack::type::ARRAY:
      for (uint32_t i = 0; i < v.via.array.size; ++i)
        if (!nested_ok(v.via.array.ptr[i])) return false;
      return true;
    case msgpack::type::MAP:
      for (uint32_t i = 0; i < v.via.map.size; ++i) {
        const msgpack::object_kv& kv = v.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR || !nested_ok(kv.val)) return false;
      }
      return !has_duplicate_key(v);
    default:
      return true;
  }
}

errc check_nested(const field_def& f, const msgpack::object& v, std::string& message) {
  if (nested_ok(v)) return errc::ok;
  return fail(
      message, f.name,
      "map keys inside it must be strings, each once in its map, numbers finite, and no value "
      "binary or an extension");
}

errc check_value(const field_def& f, const msgpack::object& v, std::string& message) {
  switch (f.type) {
    case field_type::string:
      if (v.type != msgpack::type::STR) return fail(message, f.name, "must be a string");
      return f.check_string(as_view(v), message);
    case field_type::number:
    case field_type::integer: {
      long double d;
      if (v.type == msgpack::type::POSITIVE_INTEGER) {
        d = static_cast<long double>(v.via.u64);
      } else if (v.type == msgpack::type::NEGATIVE_INTEGER) {
        d = static_cast<long double>(v.via.i64);
      } else if (f.type == field_type::number &&
                 (v.type == msgpack::type::FLOAT32 || v.type == msgpack::type::FLOAT64)) {
        if (!std::isfinite(v.via.f64)) return fail(message, f.name, "must be a finite number");
        d = static_cast<long double>(v.via.f64);
      } else {
        return fail(message, f.name,
                    f.type == field_type::number ? "must be a number" : "must be an integer");
      }
      return check_bounds(f, d, message);
    }
    case field_type::boolean:
      if (v.type != msgpack::type::BOOLEAN) return fail(message, f.name, "must be true or false");
      return errc::ok;
    case field_type::map:
      if (v.type != msgpack::type::MAP) return fail(message, f.name, "must be a map");
      if (errc e = check_length(f, v.via.map.size, "entries", message); e != errc::ok) return e;
      return check_nested(f, v, message);
    case field_type::array:
      if (v.type != msgpack::type::ARRAY) return fail(message, f.name, "must be an array");
      if (errc e = check_length(f, v.via.array.size, "elements", message); e != errc::ok) return e;
      return check_nested(f, v, message);
    case field_type::any:
      return check_nested(f, v, message);
  }
  return errc::ok;
}

}  // namespace

errc field_def::check_string(std::string_view s, std::string& message) const {
  if (letters != 0) {
    bool ok = s.size() == letters;
    for (size_t i = 0; ok && i < s.size(); ++i) {
      const char c = s[i];
      ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    }
    if (!ok) return fail(message, name, "must be " + std::to_string(letters) + " ASCII letters");
  }
  if (!one_of.empty()) {
    bool found = false;
    if (one_of_sorted.size() == one_of.size()) {
      found = std::binary_search(one_of_sorted.begin(), one_of_sorted.end(), s);
    } else {  // a field_def built by hand (tests)
      for (const std::string& allowed : one_of) found |= allowed == s;
    }
    if (!found) {
      // The first values, in the schema's order (a generated list may hold
      // thousands).
      constexpr size_t kShown = 20;
      std::string what = "must be one of ";
      constexpr size_t kLongest = 64;  // bytes of one value quoted
      for (size_t i = 0; i < one_of.size() && i < kShown; ++i) {
        if (i) what += ", ";
        what += utf8_prefix(one_of[i], kLongest);
        if (one_of[i].size() > kLongest) what += "...";
      }
      if (one_of.size() > kShown) what += ", ... (" + std::to_string(one_of.size()) + " values)";
      return fail(message, name, what);
    }
  }
  if (min_len || max_len) {
    // A string of b bytes has between ceil(b/4) and b code points: count
    // them only when those bounds do not settle it.
    const size_t b = s.size();
    if ((!max_len || b <= *max_len) && (!min_len || (b + 3) / 4 >= *min_len)) return errc::ok;
    return check_length(*this, utf8_length(s), "characters", message);
  }
  return errc::ok;
}

errc command_def::check_data(const msgpack::object* data, std::string& message) const {
  uint64_t seen = 0;
  if (data != nullptr) {
    if (data->type != msgpack::type::MAP) {
      message = "data: must be a map";
      return errc::bad_request;
    }
    const msgpack::object_kv* kv = data->via.map.ptr;
    const msgpack::object_kv* const end = kv + data->via.map.size;
    for (; kv != end; ++kv) {
      if (kv->key.type != msgpack::type::STR) {
        message = "data: field names must be strings";
        return errc::bad_request;
      }
      const std::string_view name = as_view(kv->key);
      const field_def* f = find_field(name);
      if (f == nullptr) return fail(message, name, "not a field of " + this->name);
      const uint64_t bit = uint64_t{1} << f->bit;
      if (seen & bit) return fail(message, name, "duplicate field");
      seen |= bit;
      if (errc e = check_value(*f, kv->val, message); e != errc::ok) return e;
    }
  }
  if (const uint64_t missing = required_mask & ~seen; missing != 0) {
    const field_def& f = fields[static_cast<size_t>(__builtin_ctzll(missing))];
    return fail(message, f.name, "missing required field");
  }
  if (at_least_one && seen == 0) {
    message = "data: " + name + " needs at least one of ";
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i) message += ", ";
      message += fields[i].name;
    }
    return errc::bad_request;
  }
  return errc::ok;
}

}  // namespace rill
