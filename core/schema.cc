#include "core/schema.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "core/utf8.h"

namespace rill {

extern const std::string_view default_schema_json;

namespace {

using json = nlohmann::json;

constexpr size_t max_name_len = 128;
constexpr size_t max_fields = 64;

// Aggregate, command and event names end up in topics ("agg/TYPE") and file
// names: letters, digits, '_', '-', '.'.
bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > max_name_len) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Parsing context: the path of the node being read, for messages.
struct parser {
  std::string error;

  bool fail(const std::string& path, const std::string& what) {
    if (error.empty()) error = (path.empty() ? std::string("schema") : path) + ": " + what;
    return false;
  }

  // Every key of obj must be in allowed.
  bool only_keys(const json& obj, const std::string& path,
                 std::initializer_list<std::string_view> allowed) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
        return fail(path, "unknown key \"" + it.key() + "\"");
      }
    }
    return true;
  }

  bool get_bool(const json& obj, const char* key, const std::string& path, bool& out) {
    auto it = obj.find(key);
    if (it == obj.end()) return true;
    if (!it->is_boolean()) return fail(path + "." + key, "must be true or false");
    out = it->get<bool>();
    return true;
  }

  bool get_number(const json& obj, const char* key, const std::string& path,
                  std::optional<long double>& out) {
    static_assert(std::numeric_limits<long double>::digits >= 64,
                  "integer bounds need a 64-bit significand");
    auto it = obj.find(key);
    if (it == obj.end()) return true;
    if (!it->is_number()) return fail(path + "." + key, "must be a number");
    if (it->is_number_unsigned()) {
      out = static_cast<long double>(it->get<uint64_t>());
    } else if (it->is_number_integer()) {
      out = static_cast<long double>(it->get<int64_t>());
    } else {
      out = static_cast<long double>(it->get<double>());
    }
    return true;
  }

  bool get_size(const json& obj, const char* key, const std::string& path,
                std::optional<size_t>& out) {
    auto it = obj.find(key);
    if (it == obj.end()) return true;
    if (!it->is_number_unsigned()) return fail(path + "." + key, "must be a non-negative integer");
    out = it->get<size_t>();
    return true;
  }

  bool description(const json& obj, const std::string& path) {
    auto it = obj.find("description");
    if (it != obj.end() && !it->is_string()) return fail(path + ".description", "must be a string");
    return true;
  }

  bool parse_field(const std::string& name, const json& j, const std::string& path,
                   field_def& f) {
    if (!j.is_object()) return fail(path, "must be an object");
    if (!only_keys(j, path, {"type", "optional", "one_of", "ref", "gt", "ge", "lt", "le",
                             "min_len", "max_len", "letters", "description"})) {
      return false;
    }
    if (!description(j, path)) return false;
    f.name = name;
    auto t = j.find("type");
    if (t == j.end()) return fail(path, "missing key \"type\"");
    if (!t->is_string()) return fail(path + ".type", "must be a string");
    const std::string& ts = t->get_ref<const std::string&>();
    static constexpr field_type types[] = {field_type::string,  field_type::number,
                                           field_type::integer, field_type::boolean,
                                           field_type::map,     field_type::array,
                                           field_type::any};
    bool known = false;
    for (field_type ft : types) {
      if (ts == to_string(ft)) f.type = ft, known = true;
    }
    if (!known) {
      return fail(path + ".type",
                  "unknown type \"" + ts + "\" (string, number, integer, bool, map, array, any)");
    }
    if (!get_bool(j, "optional", path, f.optional)) return false;
    if (!get_number(j, "gt", path, f.gt) || !get_number(j, "ge", path, f.ge) ||
        !get_number(j, "lt", path, f.lt) || !get_number(j, "le", path, f.le)) {
      return false;
    }
    if (!get_size(j, "min_len", path, f.min_len) || !get_size(j, "max_len", path, f.max_len)) {
      return false;
    }
    std::optional<size_t> letters;
    if (!get_size(j, "letters", path, letters)) return false;
    const bool is_string = f.type == field_type::string;
    const bool is_numeric = f.type == field_type::number || f.type == field_type::integer;
    if (letters) {
      if (!is_string) return fail(path + ".letters", "only for type string");
      if (*letters == 0) return fail(path + ".letters", "must be at least 1");
      f.letters = *letters;
    }
    if (auto it = j.find("one_of"); it != j.end()) {
      if (!is_string) return fail(path + ".one_of", "only for type string");
      if (!it->is_array() || it->empty()) {
        return fail(path + ".one_of", "must be a non-empty array of strings");
      }
      for (const json& v : *it) {
        if (!v.is_string()) return fail(path + ".one_of", "must be a non-empty array of strings");
        f.one_of.push_back(v.get_ref<const std::string&>());
      }
      // Sorted once (a generated list may hold 100,000 values: the linear
      // checks made loading it quadratic, 25-55 s).
      f.one_of_sorted = f.one_of;
      std::sort(f.one_of_sorted.begin(), f.one_of_sorted.end());
      auto dup = std::adjacent_find(f.one_of_sorted.begin(), f.one_of_sorted.end());
      if (dup != f.one_of_sorted.end()) {
        return fail(path + ".one_of", "duplicate value \"" + *dup + "\"");
      }
    }
    if (auto it = j.find("ref"); it != j.end()) {
      if (!is_string) return fail(path + ".ref", "only for type string");
      if (!it->is_string() || !valid_name(it->get_ref<const std::string&>()))
        return fail(path + ".ref", "must be an aggregate type name");
      f.ref = it->get<std::string>();  // resolved once every aggregate is known
    }
    if ((f.gt || f.ge || f.lt || f.le) && !is_numeric) {
      return fail(path, "gt/ge/lt/le only for type number or integer");
    }
    if (f.gt && f.ge) return fail(path, "give gt or ge, not both");
    if (f.lt && f.le) return fail(path, "give lt or le, not both");
    const std::optional<long double> lo = f.gt ? f.gt : f.ge, hi = f.lt ? f.lt : f.le;
    if (lo && hi && (*lo > *hi || (*lo == *hi && (f.gt || f.lt)))) {
      return fail(path, "the bounds leave no valid value");
    }
    if (f.type == field_type::integer && (lo || hi)) {
      // The smallest and largest integers inside the bounds, and inside what
      // a command can send: -2^63..2^64-1 (gt 2^64-1 alone left none).
      constexpr long double kLeast = -9223372036854775808.0L, kMost = 18446744073709551615.0L;
      long double least = kLeast, most = kMost;
      if (lo) least = std::max(kLeast, f.gt ? std::floor(*f.gt) + 1 : std::ceil(*f.ge));
      if (hi) most = std::min(kMost, f.lt ? std::ceil(*f.lt) - 1 : std::floor(*f.le));
      if (least > most)
        return fail(path,
                    "the bounds leave no valid integer (a command's integers are "
                    "-9223372036854775808..18446744073709551615)");
    }
    if (f.letters &&
        ((f.min_len && *f.min_len > f.letters) || (f.max_len && *f.max_len < f.letters)))
      return fail(path, "letters " + std::to_string(f.letters) + " is outside min_len/max_len");
    for (const std::string& v : f.one_of) {
      // A value the field's other rules refuse could never be sent.
      std::string why;
      if (f.check_string(v, why) != errc::ok)
        return fail(path + ".one_of", "\"" + v + "\" would be refused (" + why + ")");
    }
    if ((f.min_len || f.max_len) && !(is_string || f.type == field_type::array ||
                                      f.type == field_type::map)) {
      return fail(path, "min_len/max_len only for type string, array or map");
    }
    if (f.min_len && f.max_len && *f.min_len > *f.max_len) {
      return fail(path, "min_len is greater than max_len");
    }
    return true;
  }

  bool parse_command(const std::string& name, const json& j, const std::string& path,
                     command_def& c) {
    if (!valid_name(name)) return fail(path, "invalid command name (1..128 of A-Z a-z 0-9 _ - .)");
    if (!j.is_object()) return fail(path, "must be an object");
    if (!only_keys(j, path, {"creates", "event", "at_least_one", "fields", "description"})) {
      return false;
    }
    if (!description(j, path)) return false;
    c.name = name;
    if (!get_bool(j, "creates", path, c.creates)) return false;
    if (!get_bool(j, "at_least_one", path, c.at_least_one)) return false;
    auto ev = j.find("event");
    if (ev == j.end()) return fail(path, "missing key \"event\"");
    if (!ev->is_string() || !valid_name(ev->get_ref<const std::string&>())) {
      return fail(path + ".event", "must be an event name (1..128 of A-Z a-z 0-9 _ - .)");
    }
    c.event = ev->get<std::string>();
    if (auto fs = j.find("fields"); fs != j.end()) {
      if (!fs->is_object()) return fail(path + ".fields", "must be an object");
      if (fs->size() > max_fields) {
        return fail(path + ".fields", "more than " + std::to_string(max_fields) + " fields");
      }
      for (auto it = fs->begin(); it != fs->end(); ++it) {
        const std::string fpath = path + ".fields." + it.key();
        if (it.key().empty() || it.key().size() > 256) {
          return fail(fpath, "field names are 1..256 bytes");
        }
        field_def f;
        if (!parse_field(it.key(), it.value(), fpath, f)) return false;
        c.fields.push_back(std::move(f));
      }
    }
    std::sort(c.fields.begin(), c.fields.end(),
              [](const field_def& a, const field_def& b) { return a.name < b.name; });
    for (size_t i = 0; i < c.fields.size(); ++i) {
      c.fields[i].bit = static_cast<uint32_t>(i);
      if (!c.fields[i].optional) c.required_mask |= uint64_t{1} << i;
      if (!c.fields[i].ref.empty()) c.has_refs = true;
    }
    if (c.at_least_one && c.fields.empty()) return fail(path, "at_least_one with no fields");
    return true;
  }

  bool parse_root(const json& root, std::vector<aggregate_def>& out) {
    if (!root.is_object()) return fail("", "must be a JSON object");
    if (!only_keys(root, "schema", {"version", "description", "aggregates"})) return false;
    if (!description(root, "schema")) return false;
    if (auto v = root.find("version"); v != root.end()) {
      if (!v->is_number_unsigned() || v->get<uint64_t>() != 1) {
        return fail("version", "must be 1 (the only version this rill reads)");
      }
    }
    auto aggs = root.find("aggregates");
    if (aggs == root.end()) return fail("schema", "missing key \"aggregates\"");
    if (!aggs->is_object() || aggs->empty()) {
      return fail("aggregates", "must be a non-empty object");
    }
    if (aggs->size() > 65535) return fail("aggregates", "too many aggregate types");
    for (auto it = aggs->begin(); it != aggs->end(); ++it) {
      const std::string path = "aggregates." + it.key();
      if (!valid_name(it.key())) {
        return fail(path, "invalid aggregate name (1..128 of A-Z a-z 0-9 _ - .)");
      }
      const json& a = it.value();
      if (!a.is_object()) return fail(path, "must be an object");
      if (!only_keys(a, path, {"commands", "description"})) return false;
      if (!description(a, path)) return false;
      auto cmds = a.find("commands");
      if (cmds == a.end()) return fail(path, "missing key \"commands\"");
      if (!cmds->is_object() || cmds->empty()) {
        return fail(path + ".commands", "must be a non-empty object");
      }
      aggregate_def ad;
      ad.name = it.key();
      for (auto ci = cmds->begin(); ci != cmds->end(); ++ci) {
        command_def c;
        if (!parse_command(ci.key(), ci.value(), path + ".commands." + ci.key(), c)) return false;
        ad.commands.push_back(std::move(c));
      }
      std::sort(ad.commands.begin(), ad.commands.end(),
                [](const command_def& x, const command_def& y) { return x.name < y.name; });
      out.push_back(std::move(ad));
    }
    std::sort(out.begin(), out.end(),
              [](const aggregate_def& x, const aggregate_def& y) { return x.name < y.name; });
    for (size_t i = 0; i < out.size(); ++i) {
      out[i].index = static_cast<uint16_t>(i);
      for (command_def& c : out[i].commands) c.aggregate = static_cast<uint16_t>(i);
    }
    // Resolve references now that every aggregate is known.
    for (aggregate_def& a : out) {
      for (command_def& c : a.commands) {
        for (field_def& f : c.fields) {
          if (f.ref.empty()) continue;
          // out is sorted by name.
          auto hit = std::lower_bound(
              out.begin(), out.end(), f.ref,
              [](const aggregate_def& x, const std::string& name) { return x.name < name; });
          if (hit == out.end() || hit->name != f.ref) {
            return fail("aggregates." + a.name + ".commands." + c.name + ".fields." + f.name +
                            ".ref",
                        "no aggregate type \"" + f.ref + "\"");
          }
          f.ref_index = hit->index;
        }
      }
    }
    return true;
  }
};

// A SAX handler that only notes the first key repeated within one object.
struct duplicate_finder {
  std::vector<std::unordered_set<std::string>> keys;  // one per open object
  std::string duplicate;
  std::string error;
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) {
    keys.emplace_back();
    return true;
  }
  bool key(json::string_t& k) {
    if (!keys.empty() && !keys.back().insert(k).second && duplicate.empty()) duplicate = k;
    return true;
  }
  bool end_object() {
    if (!keys.empty()) keys.pop_back();
    return true;
  }
  bool start_array(std::size_t) { return true; }
  bool end_array() { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    error = e.what();
    return false;
  }
};

}  // namespace

std::string_view to_string(field_type t) {
  switch (t) {
    case field_type::string: return "string";
    case field_type::number: return "number";
    case field_type::integer: return "integer";
    case field_type::boolean: return "bool";
    case field_type::map: return "map";
    case field_type::array: return "array";
    case field_type::any: return "any";
  }
  return "any";
}

std::unique_ptr<schema> schema::parse(std::string_view text, std::string& error) {
  error.clear();
  try {
    // Duplicate keys are a mistake nlohmann would silently resolve: a SAX
    // pass finds them first. (The parser callback did, but nlohmann's
    // callback parser walks the parent object at each child's end: 40,000
    // commands took 11 s to load.)
    duplicate_finder dups;
    if (!json::sax_parse(text.begin(), text.end(), &dups)) {
      error = "schema: invalid JSON: " + dups.error;  // nlohmann's, with line and column
      return nullptr;
    }
    if (!dups.duplicate.empty()) {
      error = "schema: duplicate key \"" + dups.duplicate + "\"";
      return nullptr;
    }
    json root = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) {
      error = "schema: invalid JSON";
      return nullptr;
    }
    parser p;
    auto s = std::unique_ptr<schema>(new schema());
    if (!p.parse_root(root, s->aggregates_)) {
      error = p.error;
      return nullptr;
    }
    return s;
  } catch (const std::exception& e) {
    error = std::string("schema: ") + e.what();
    return nullptr;
  }
}

const schema& schema::default_schema() {
  static const std::unique_ptr<schema> s = [] {
    std::string error;
    auto parsed = parse(default_schema_json, error);
    if (!parsed) throw std::logic_error("the built-in default schema is invalid: " + error);
    return parsed;
  }();
  return *s;
}

}  // namespace rill
