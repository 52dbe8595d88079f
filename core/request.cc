#include "core/request.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/msgpack_check.h"
#include "core/msgpack_cursor.h"
#include "core/msgpack_decode.h"
#include "core/utf8.h"

namespace rill {

namespace {

// Longest piece of untrusted text quoted in an error message.
constexpr size_t quote_max = 64;

enum class field : uint8_t { cmd, agg, id, data, expect, key, corr, req, batch, atomic, op, count_ };

// Field by name; count_ for a name that is none of ours.
inline field field_of(std::string_view n) {
  switch (n.size()) {
    case 2:
      if (n == "id") return field::id;
      if (n == "op") return field::op;
      break;
    case 3:
      if (n == "cmd") return field::cmd;
      if (n == "agg") return field::agg;
      if (n == "key") return field::key;
      if (n == "req") return field::req;
      break;
    case 4:
      if (n == "data") return field::data;
      if (n == "corr") return field::corr;
      break;
    case 5:
      if (n == "batch") return field::batch;
      break;
    case 6:
      if (n == "expect") return field::expect;
      if (n == "atomic") return field::atomic;
      break;
  }
  return field::count_;
}

inline std::string_view as_view(const msgpack::object& o) {
  return {o.via.str.ptr, o.via.str.size};
}

errc bad(std::string& message, std::string_view a, std::string_view b = {},
         std::string_view c = {}) {
  message.assign(a);
  message.append(b);
  message.append(c);
  return errc::bad_request;
}

// The fields of one request map, found in one walk.
struct field_set {
  const msgpack::object_kv* kv[static_cast<size_t>(field::count_)] = {};
  std::string_view unknown;  // the first name that is none of ours
  const msgpack::object* get(field f) const {
    const msgpack::object_kv* p = kv[static_cast<size_t>(f)];
    return p != nullptr ? &p->val : nullptr;
  }
};

// Walks a map once. Every field name must be a string and appear once; the
// walk goes on after a mistake so that `req` is still found for the reply.
errc collect(const msgpack::object& map, field_set& fs, std::string& message) {
  errc result = errc::ok;
  const msgpack::object_kv* kv = map.via.map.ptr;
  const msgpack::object_kv* const end = kv + map.via.map.size;
  for (; kv != end; ++kv) {
    if (kv->key.type != msgpack::type::STR) {
      if (result == errc::ok) result = bad(message, "field names must be strings");
      continue;
    }
    const std::string_view name = as_view(kv->key);
    const field f = field_of(name);
    if (f == field::count_) {
      if (fs.unknown.empty()) fs.unknown = name;
      continue;
    }
    const msgpack::object_kv*& slot = fs.kv[static_cast<size_t>(f)];
    if (slot != nullptr && result == errc::ok) result = bad(message, "duplicate field: ", name);
    if (slot == nullptr) slot = kv;
  }
  return result;
}

// A command's string field: valid UTF-8 of min..max bytes.
errc take_string(const msgpack::object& o, std::string_view name, size_t min, size_t max,
                 std::string_view& out, std::string& message) {
  if (o.type != msgpack::type::STR) return bad(message, "field ", name, ": must be a string");
  const std::string_view s = as_view(o);
  if (s.size() < min || s.size() > max) {
    message = "field ";
    message += name;
    message += ": must be ";
    message += std::to_string(min);
    message += "..";
    message += std::to_string(max);
    message += " bytes long";
    return errc::bad_request;
  }
  if (!valid_utf8(s)) return bad(message, "field ", name, ": invalid UTF-8");
  out = s;
  return errc::ok;
}

inline bool absent(const msgpack::object* o) {
  return o == nullptr || o->type == msgpack::type::NIL;
}

// The encoded bytes of a map value (data), found in `bytes` from its key;
// empty unless they are a map of the value's size.
std::span<const char> raw_map_value(const msgpack::object_kv& kv, std::span<const char> bytes) {
  if (kv.val.type != msgpack::type::MAP) return {};
  const std::span<const char> v = raw_value(kv, bytes);
  msgpack_cursor c(v);
  uint32_t n = 0;
  if (v.empty() || !c.read_map_header(n) || n != kv.val.via.map.size) return {};
  return v;
}

// Type-checks the command fields of fs into out.
errc fill_command(const field_set& fs, const limits& lim, std::span<const char> bytes,
                  command_request& out, std::string& message) {
  if (!fs.unknown.empty()) return bad(message, "unknown field: ", utf8_prefix(fs.unknown, quote_max));
  for (field f : {field::batch, field::atomic, field::op}) {
    if (fs.get(f) != nullptr) {
      return bad(message, "unknown field in a command: ",
                 f == field::batch ? "batch" : f == field::atomic ? "atomic" : "op");
    }
  }
  const msgpack::object* cmd = fs.get(field::cmd);
  const msgpack::object* agg = fs.get(field::agg);
  const msgpack::object* id = fs.get(field::id);
  if (cmd == nullptr) return bad(message, "missing field: cmd");
  if (agg == nullptr) return bad(message, "missing field: agg");
  if (id == nullptr) return bad(message, "missing field: id");
  errc e;
  if ((e = take_string(*cmd, "cmd", 1, lim.max_id_len, out.cmd, message)) != errc::ok) return e;
  if ((e = take_string(*agg, "agg", 1, lim.max_id_len, out.agg, message)) != errc::ok) return e;
  if ((e = take_string(*id, "id", 1, lim.max_id_len, out.id, message)) != errc::ok) return e;
  if (const msgpack::object* key = fs.get(field::key); !absent(key)) {
    if ((e = take_string(*key, "key", 1, lim.max_key_len, out.key, message)) != errc::ok) return e;
    out.has_key = true;
  }
  if (const msgpack::object* corr = fs.get(field::corr); !absent(corr)) {
    if ((e = take_string(*corr, "corr", 0, lim.max_key_len, out.corr, message)) != errc::ok) {
      return e;
    }
    out.has_corr = !out.corr.empty();
  }
  if (const msgpack::object* ex = fs.get(field::expect); !absent(ex)) {
    if (ex->type == msgpack::type::POSITIVE_INTEGER &&
        ex->via.u64 <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      out.expect = static_cast<int64_t>(ex->via.u64);
      out.has_expect = true;
    } else if (ex->type == msgpack::type::NEGATIVE_INTEGER) {
      return bad(message, "field expect: must be >= 0");
    } else if (ex->type == msgpack::type::POSITIVE_INTEGER) {
      return bad(message, "field expect: must be at most 9223372036854775807");
    } else {
      return bad(message, "field expect: must be an integer");
    }
  }
  if (const msgpack::object* data = fs.get(field::data); !absent(data)) {
    if (data->type != msgpack::type::MAP) return bad(message, "field data: must be a map");
    out.data = data;
    out.data_raw = raw_map_value(*fs.kv[static_cast<size_t>(field::data)], bytes);
  }
  return errc::ok;
}

}  // namespace

bool has_duplicate_key(const msgpack::object& map) {
  const uint32_t n = map.via.map.size;
  const msgpack::object_kv* kv = map.via.map.ptr;
  auto key = [](const msgpack::object& k) {
    return k.type == msgpack::type::STR ? std::string_view(k.via.str.ptr, k.via.str.size)
                                        : std::string_view();
  };
  if (n < 2) return false;
  if (n <= 16) {
    for (uint32_t i = 1; i < n; ++i) {
      if (kv[i].key.type != msgpack::type::STR) continue;
      for (uint32_t j = 0; j < i; ++j)
        if (kv[j].key.type == msgpack::type::STR && key(kv[i].key) == key(kv[j].key)) return true;
    }
    return false;
  }
  std::vector<std::string_view> keys;
  keys.reserve(n);
  for (uint32_t i = 0; i < n; ++i)
    if (kv[i].key.type == msgpack::type::STR) keys.push_back(key(kv[i].key));
  std::sort(keys.begin(), keys.end());
  return std::adjacent_find(keys.begin(), keys.end()) != keys.end();
}

std::span<const char> raw_value(const msgpack::object_kv& kv, std::span<const char> bytes) {
  if (bytes.empty() || kv.key.type != msgpack::type::STR) return {};
  const auto begin = reinterpret_cast<uintptr_t>(bytes.data());
  const auto end = begin + bytes.size();
  const auto key = reinterpret_cast<uintptr_t>(kv.key.via.str.ptr);
  if (key < begin || key > end || kv.key.via.str.size > end - key) return {};
  const size_t at = key - begin + kv.key.via.str.size;
  if (at >= bytes.size()) return {};
  // Numbers, nil and booleans (what clients put in req) by their first byte;
  // the rest through the cursor.
  size_t n = 0;
  const auto first = static_cast<uint8_t>(bytes[at]);
  if (first <= 0x7f || first >= 0xe0 || first == 0xc0 || first == 0xc2 || first == 0xc3) {
    n = 1;
  } else if (first == 0xcc || first == 0xd0) {
    n = 2;
  } else if (first == 0xcd || first == 0xd1) {
    n = 3;
  } else if (first == 0xce || first == 0xd2 || first == 0xca) {
    n = 5;
  } else if (first == 0xcf || first == 0xd3 || first == 0xcb) {
    n = 9;
  } else {
    msgpack_cursor v(bytes.subspan(at));
    if (!v.skip()) return {};
    return v.bytes_since(0);
  }
  if (n > bytes.size() - at) return {};
  return bytes.subspan(at, n);
}

std::span<const char> find_req(std::span<const char> bytes, const limits& lim) {
  msgpack_cursor c(bytes);
  uint32_t n;
  if (!c.read_map_header(n)) return {};
  uint64_t budget = lim.max_elements;  // values we are willing to step over
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view name;
    if (!c.read_str(name)) {
      if (!c.skip(budget)) return {};
    }
    const size_t start = c.offset();
    if (!c.skip(budget)) return {};
    if (name != "req") continue;
    const std::span<const char> value = c.bytes_since(start);
    if (value.size() > lim.max_request_bytes) return {};
    std::string ignored;
    if (check_msgpack(value, lim, ignored) != errc::ok) return {};
    return value;
  }
  return {};
}

errc decode_command(const msgpack::object& o, const limits& lim, command_request& out,
                    std::string& message, std::span<const char> bytes) {
  out = command_request{};
  if (o.type != msgpack::type::MAP) return bad(message, "a command must be a map");
  field_set fs;
  if (errc e = collect(o, fs, message); e != errc::ok) return e;
  return fill_command(fs, lim, bytes, out, message);
}

errc decode_request(std::span<const char> bytes, msgpack::zone& zone, const limits& lim,
                    request& out, std::string& message) {
  out = request{};
  message.clear();
  if (bytes.size() > lim.max_request_bytes) {
    out.req = find_req(bytes, lim);
    message = "request of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
              std::to_string(lim.max_request_bytes);
    return errc::too_large;
  }
  const msgpack::object* root = nullptr;
  if (errc e = decode_msgpack(bytes, zone, lim, root, message); e != errc::ok) {
    out.req = find_req(bytes, lim);
    return e;
  }
  out.root = root;
  out.bytes = bytes;
  if (root->type != msgpack::type::MAP) return bad(message, "a request must be a map");
  field_set fs;
  const errc walked = collect(*root, fs, message);
  if (const msgpack::object_kv* kv = fs.kv[static_cast<size_t>(field::req)])
    out.req = raw_value(*kv, bytes);
  const msgpack::object* batch = fs.get(field::batch);
  const msgpack::object* op = fs.get(field::op);
  if ((fs.get(field::cmd) != nullptr) + (batch != nullptr) + (op != nullptr) > 1) {
    return bad(message, "a request has exactly one of cmd, batch, op");
  }
  if (op != nullptr) {
    // An admin request: its other fields are its handler's business.
    out.k = request::kind::admin;
    if (walked != errc::ok) return walked;
    if (op->type != msgpack::type::STR || op->via.str.size == 0) {
      return bad(message, "field op: must be a non-empty string");
    }
    out.op = as_view(*op);
    return errc::ok;
  }
  if (batch != nullptr) {
    out.k = request::kind::batch;
    if (walked != errc::ok) return walked;
    if (!fs.unknown.empty()) {
      return bad(message, "unknown field in a batch: ", utf8_prefix(fs.unknown, quote_max));
    }
    for (field f : {field::agg, field::id, field::data, field::expect, field::key, field::corr}) {
      if (fs.get(f) != nullptr) {
        return bad(message, "a batch carries its commands in `batch`, not top-level command fields");
      }
    }
    if (batch->type != msgpack::type::ARRAY) return bad(message, "field batch: must be an array");
    if (batch->via.array.size > lim.max_batch) {
      message = "batch of " + std::to_string(batch->via.array.size) +
                " commands exceeds the limit of " + std::to_string(lim.max_batch);
      return errc::too_large;
    }
    if (const msgpack::object* atomic = fs.get(field::atomic); !absent(atomic)) {
      if (atomic->type != msgpack::type::BOOLEAN) return bad(message, "field atomic: must be a bool");
      out.atomic = atomic->via.boolean;
    }
    out.batch = batch;
    return errc::ok;
  }
  out.k = request::kind::command;
  if (walked != errc::ok) return walked;
  if (fs.get(field::cmd) == nullptr && fs.get(field::atomic) == nullptr && fs.unknown.empty() &&
      fs.get(field::agg) == nullptr && fs.get(field::id) == nullptr) {
    return bad(message, "missing field: cmd (or batch, op)");
  }
  return fill_command(fs, lim, bytes, out.command, message);
}

}  // namespace rill
