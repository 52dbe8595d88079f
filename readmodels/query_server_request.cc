#include "readmodels/query_server_request.h"

#include "core/request.h"

#include <algorithm>
#include <new>

#include "core/msgpack_check.h"
#include "core/msgpack_cursor.h"
#include "core/reply.h"
#include "core/utf8.h"

namespace rill::readmodels {
namespace {

bool reference_everything(msgpack::type::object_type, std::size_t, void*) {
  return true;
}

// Unpacks bytes that check_msgpack accepted into the zone (strings reference
// the bytes). False if msgpack-c still refuses them.
bool unpack_into(std::span<const char> bytes, msgpack::zone& zone, const limits& lim,
                 const msgpack::object*& out) noexcept {
  try {
    std::size_t off = 0;
    const msgpack::unpack_limit ul(lim.max_elements, lim.max_elements, 0xffffffff, 0xffffffff,
                                   0xffffffff, lim.max_depth);
    msgpack::object obj =
        msgpack::unpack(zone, bytes.data(), bytes.size(), off, &reference_everything, nullptr, ul);
    if (off != bytes.size()) return false;
    void* mem = zone.allocate_align(sizeof(msgpack::object), alignof(msgpack::object));
    out = new (mem) msgpack::object(obj);
    return true;
  } catch (...) {
    return false;
  }
}

errc bad(std::string& message, std::string text) {
  message = std::move(text);
  return errc::bad_request;
}

std::string_view as_view(const msgpack::object& o) {
  return {o.via.str.ptr, o.via.str.size};
}

void pack_key(msgpack::packer<out_buffer>& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

}  // namespace

const msgpack::object& empty_map_object() {
  static const msgpack::object empty = [] {
    msgpack::object o;
    o.type = msgpack::type::MAP;
    o.via.map.size = 0;
    o.via.map.ptr = nullptr;
    return o;
  }();
  return empty;
}

errc decode_query(std::span<const char> bytes, msgpack::zone& zone, const query_decode_options& opt,
                  query_request& out, std::string& message) {
  out = query_request{};
  message.clear();
  if (bytes.size() > opt.lim.max_request_bytes) {
    out.req = find_req(bytes, opt.lim);  // core/request.h
    message = "request of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
              std::to_string(opt.lim.max_request_bytes);
    return errc::too_large;
  }
  if (bytes.empty()) return bad(message, "empty request");
  if (errc e = check_msgpack(bytes, opt.lim, message); e != errc::ok) {
    out.req = find_req(bytes, opt.lim);  // core/request.h
    return e;
  }
  const msgpack::object* root = nullptr;
  if (!unpack_into(bytes, zone, opt.lim, root)) return bad(message, "not valid MessagePack");
  if (root->type != msgpack::type::MAP) return bad(message, "a query must be a map");

  // `req` first, so that every error below echoes it; nil is echoed too.
  for (uint32_t i = 0; i < root->via.map.size; ++i) {
    const auto& kv = root->via.map.ptr[i];
    if (kv.key.type == msgpack::type::STR && as_view(kv.key) == "req") {
      out.req = raw_value(kv, bytes);  // core/request.h: its bytes, echoed as sent
      break;
    }
  }
  const msgpack::object* fields[6] = {};
  static constexpr std::string_view names[6] = {"model", "q", "args", "after", "timeout_ms", "req"};
  for (uint32_t i = 0; i < root->via.map.size; ++i) {
    const auto& kv = root->via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) return bad(message, "field names must be strings");
    const auto name = as_view(kv.key);
    const auto it = std::find(std::begin(names), std::end(names), name);
    if (it == std::end(names)) {
      std::string shown(utf8_prefix(name, 64));
      return bad(message, "unknown field: " + shown);
    }
    const auto at = static_cast<size_t>(it - std::begin(names));
    if (fields[at] != nullptr) return bad(message, "duplicate field: " + std::string(name));
    fields[at] = &kv.val;
  }
  auto present = [&](size_t i) {
    return fields[i] != nullptr && fields[i]->type != msgpack::type::NIL;
  };
  if (present(0)) {
    if (fields[0]->type != msgpack::type::STR) return bad(message, "field model: must be a string");
    out.model = as_view(*fields[0]);
  }
  if (!present(1)) return bad(message, "field q: required");
  if (fields[1]->type != msgpack::type::STR || fields[1]->via.str.size == 0)
    return bad(message, "field q: must be a non-empty string");
  out.q = as_view(*fields[1]);
  if (present(2)) {
    if (fields[2]->type != msgpack::type::MAP) return bad(message, "field args: must be a map");
    // A repeated argument would be read as its first (an outside probe).
    if (has_duplicate_key(*fields[2])) return bad(message, "field args: an argument given twice");
    out.args = fields[2];
  } else {
    out.args = &empty_map_object();
  }
  if (present(3)) {
    if (fields[3]->type != msgpack::type::POSITIVE_INTEGER)
      return bad(message, "field after: must be a non-negative integer");
    out.has_after = true;
    out.after = fields[3]->via.u64;
  }
  out.timeout_ms = opt.default_timeout_ms;
  if (present(4)) {
    if (fields[4]->type != msgpack::type::POSITIVE_INTEGER)
      return bad(message, "field timeout_ms: must be a non-negative integer");
    out.timeout_ms = fields[4]->via.u64;
  }
  out.timeout_ms = std::min(out.timeout_ms, opt.max_timeout_ms);
  return errc::ok;
}

void begin_query_reply(out_buffer& out, uint64_t seq, std::span<const char> req,
                       const status_fields* status) {
  msgpack::packer<out_buffer> pk(out);
  pk.pack_map(3 + (req.empty() ? 0 : 1) + (status != nullptr ? 2 : 0));
  pack_key(pk, "ok");
  pk.pack_true();
  pack_key(pk, "seq");
  pk.pack_uint64(seq);
  if (status != nullptr) {
    pack_key(pk, "head");
    pk.pack_uint64(status->head);
    pack_key(pk, "events_applied");
    pk.pack_uint64(status->events_applied);
  }
  if (!req.empty()) {
    pack_key(pk, "req");
    out.write(req.data(), req.size());
  }
  pack_key(pk, "result");
}

void encode_query_error(out_buffer& out, errc code, std::string_view message,
                        std::span<const char> req) {
  encode_error(out, code, message, req);
}

}  // namespace rill::readmodels
