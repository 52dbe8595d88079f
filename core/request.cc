#include "core/request.h"

#include <limits>

#include "core/msgpack_check.h"
#include "core/msgpack_cursor.h"
#include "core/utf8.h"

namespace rill {

namespace {

// Longest piece of untrusted text quoted in an error message.
constexpr size_t quote_max = 64;

enum class field : uint8_t { unknown, cmd, agg, id, data, expect, key, corr, req, batch, atomic, op };

field field_of(std::string_view n) {
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
  return field::unknown;
}

std::string_view as_view(const msgpack::object& o) { return {o.via.str.ptr, o.via.str.size}; }

errc bad(std::string& message, std::string_view a, std::string_view b = {},
         std::string_view c = {}) {
  message.assign(a);
  message.append(b);
  message.append(c);
  return errc::bad_request;
}

// Every string field of a command is valid UTF-8 of min..max bytes.
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

bool reference_everything(msgpack::type::object_type, std::size_t, void*) { return true; }

// Unpacks bytes that check_msgpack accepted into zone (strings reference the
// bytes). False if msgpack-c still refuses them.
bool unpack_into(std::span<const char> bytes, msgpack::zone& zone, const limits& lim,
                 const msgpack::object*& out) noexcept {
  try {
    std::size_t off = 0;
    const msgpack::unpack_limit ul(lim.max_elements, lim.max_elements, 0xffffffff, 0xffffffff,
                                   0xffffffff, lim.max_depth);
    msgpack::object obj = msgpack::unpack(zone, bytes.data(), bytes.size(), off,
                                          &reference_everything, nullptr, ul);
    if (off != bytes.size()) return false;
    void* mem = zone.allocate_align(sizeof(msgpack::object), alignof(msgpack::object));
    out = new (mem) msgpack::object(obj);
    return true;
  } catch (...) {
    return false;
  }
}

// After a failed structural check or for an oversized request: finds the
// top-level `req` field with a cursor and decodes only that value, so the
// error reply can echo it. Best effort; leaves out.req null on any doubt.
void recover_req(std::span<const char> bytes, msgpack::zone& zone, const limits& lim,
                 request& out) noexcept {
  msgpack_cursor c(bytes);
  uint32_t n;
  if (!c.read_map_header(n)) return;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view name;
    if (!c.read_str(name)) {
      if (!c.skip()) return;
    }
    const size_t start = c.offset();
    if (!c.skip()) return;
    if (name != "req") continue;
    const std::span<const char> value = c.bytes_since(start);
    std::string ignored;
    if (value.size() > lim.max_request_bytes) return;
    if (check_msgpack(value, lim, ignored) != errc::ok) return;
    const msgpack::object* req = nullptr;
    if (unpack_into(value, zone, lim, req)) out.req = req;
    return;
  }
}

}  // namespace

errc decode_command(const msgpack::object& o, const limits& lim, command_request& out,
                    std::string& message) {
  out = command_request{};
  if (o.type != msgpack::type::MAP) return bad(message, "a command must be a map");
  uint32_t seen = 0;
  const msgpack::object_kv* kv = o.via.map.ptr;
  const msgpack::object_kv* const end = kv + o.via.map.size;
  for (; kv != end; ++kv) {
    if (kv->key.type != msgpack::type::STR) return bad(message, "field names must be strings");
    const std::string_view name = as_view(kv->key);
    const field f = field_of(name);
    const uint32_t bit = 1u << static_cast<unsigned>(f);
    if (f == field::unknown || f == field::batch || f == field::atomic || f == field::op) {
      return bad(message, "unknown field: ", utf8_prefix(name, quote_max));
    }
    if (seen & bit) return bad(message, "duplicate field: ", name);
    seen |= bit;
    const msgpack::object& v = kv->val;
    const bool nil = v.type == msgpack::type::NIL;
    errc e = errc::ok;
    switch (f) {
      case field::cmd:
        e = take_string(v, "cmd", 1, lim.max_id_len, out.cmd, message);
        break;
      case field::agg:
        e = take_string(v, "agg", 1, lim.max_id_len, out.agg, message);
        break;
      case field::id:
        e = take_string(v, "id", 1, lim.max_id_len, out.id, message);
        break;
      case field::key:
        if (nil) break;
        e = take_string(v, "key", 1, lim.max_key_len, out.key, message);
        out.has_key = true;
        break;
      case field::corr:
        if (nil) break;
        e = take_string(v, "corr", 0, lim.max_key_len, out.corr, message);
        out.has_corr = !out.corr.empty();
        break;
      case field::expect:
        if (nil) break;
        if (v.type == msgpack::type::POSITIVE_INTEGER &&
            v.via.u64 <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          out.expect = static_cast<int64_t>(v.via.u64);
          out.has_expect = true;
        } else if (v.type == msgpack::type::NEGATIVE_INTEGER) {
          return bad(message, "field expect: must be >= 0");
        } else {
          return bad(message, "field expect: must be an integer");
        }
        break;
      case field::data:
        if (nil) break;
        if (v.type != msgpack::type::MAP) return bad(message, "field data: must be a map");
        out.data = &v;
        break;
      default:  // req: echoed by the caller
        break;
    }
    if (e != errc::ok) return e;
  }
  if (!(seen & (1u << static_cast<unsigned>(field::cmd)))) return bad(message, "missing field: cmd");
  if (!(seen & (1u << static_cast<unsigned>(field::agg)))) return bad(message, "missing field: agg");
  if (!(seen & (1u << static_cast<unsigned>(field::id)))) return bad(message, "missing field: id");
  return errc::ok;
}

errc decode_request(std::span<const char> bytes, msgpack::zone& zone, const limits& lim,
                    request& out, std::string& message) {
  out = request{};
  message.clear();
  if (bytes.size() > lim.max_request_bytes) {
    recover_req(bytes, zone, lim, out);
    message = "request of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
              std::to_string(lim.max_request_bytes);
    return errc::too_large;
  }
  if (errc e = check_msgpack(bytes, lim, message); e != errc::ok) {
    recover_req(bytes, zone, lim, out);
    return e;
  }
  const msgpack::object* root = nullptr;
  if (!unpack_into(bytes, zone, lim, root)) return bad(message, "not valid MessagePack");
  out.root = root;
  if (root->type != msgpack::type::MAP) return bad(message, "a request must be a map");

  // One pass for what decides the kind; the command's own fields are decoded
  // by decode_command.
  const msgpack::object* cmd = nullptr;
  const msgpack::object* batch = nullptr;
  const msgpack::object* op = nullptr;
  const msgpack::object* atomic = nullptr;
  std::string_view other;  // a field that is neither batch, atomic nor req
  const msgpack::object_kv* kv = root->via.map.ptr;
  const msgpack::object_kv* const end = kv + root->via.map.size;
  for (; kv != end; ++kv) {
    if (kv->key.type != msgpack::type::STR) continue;  // reported below
    const std::string_view name = as_view(kv->key);
    switch (field_of(name)) {
      case field::req: if (!out.req) out.req = &kv->val; break;
      case field::cmd: cmd = &kv->val; break;
      case field::batch: batch = &kv->val; break;
      case field::op: op = &kv->val; break;
      case field::atomic: atomic = &kv->val; break;
      default: if (other.empty()) other = name; break;
    }
  }
  if ((cmd != nullptr) + (batch != nullptr) + (op != nullptr) > 1) {
    return bad(message, "a request has exactly one of cmd, batch, op");
  }
  if (op != nullptr) {
    out.k = request::kind::admin;
    if (op->type != msgpack::type::STR || op->via.str.size == 0) {
      return bad(message, "field op: must be a non-empty string");
    }
    out.op = as_view(*op);
    return errc::ok;
  }
  if (batch != nullptr) {
    out.k = request::kind::batch;
    for (kv = root->via.map.ptr; kv != end; ++kv) {
      if (kv->key.type != msgpack::type::STR) return bad(message, "field names must be strings");
      const field f = field_of(as_view(kv->key));
      if (f != field::batch && f != field::atomic && f != field::req) {
        return bad(message, "unknown field in a batch: ", utf8_prefix(as_view(kv->key), quote_max));
      }
    }
    bool dup_batch = false, dup_atomic = false, dup_req = false;
    for (kv = root->via.map.ptr; kv != end; ++kv) {
      const field f = field_of(as_view(kv->key));
      bool& d = f == field::batch ? dup_batch : f == field::atomic ? dup_atomic : dup_req;
      if (d) return bad(message, "duplicate field: ", as_view(kv->key));
      d = true;
    }
    if (batch->type != msgpack::type::ARRAY) return bad(message, "field batch: must be an array");
    if (batch->via.array.size > lim.max_batch) {
      message = "batch of " + std::to_string(batch->via.array.size) +
                " commands exceeds the limit of " + std::to_string(lim.max_batch);
      return errc::too_large;
    }
    if (atomic != nullptr && atomic->type != msgpack::type::NIL) {
      if (atomic->type != msgpack::type::BOOLEAN) return bad(message, "field atomic: must be a bool");
      out.atomic = atomic->via.boolean;
    }
    out.batch = batch;
    return errc::ok;
  }
  out.k = request::kind::command;
  if (cmd == nullptr && atomic == nullptr && other.empty()) {
    return bad(message, "missing field: cmd (or batch, op)");
  }
  return decode_command(*root, lim, out.command, message);
}

}  // namespace rill
