#include "transport/replay_request.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <string>

#include "core/msgpack_decode.h"
#include "core/request.h"

namespace rill::transport {

namespace {

const msgpack::object_kv* entry(const msgpack::object& m, std::string_view key) {
  for (uint32_t i = 0; i < m.via.map.size; ++i) {
    const auto& kv = m.via.map.ptr[i];
    if (kv.key.type == msgpack::type::STR &&
        std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key)
      return &kv;
  }
  return nullptr;
}

const msgpack::object* get(const msgpack::object& m, std::string_view key) {
  const msgpack::object_kv* kv = entry(m, key);
  return kv != nullptr ? &kv->val : nullptr;
}

bool get_uint(const msgpack::object& m, std::string_view key, uint64_t& v, bool& bad) {
  const auto* o = get(m, key);
  if (o == nullptr || o->type == msgpack::type::NIL) return false;
  if (o->type != msgpack::type::POSITIVE_INTEGER) {
    bad = true;
    return false;
  }
  v = o->via.u64;
  return true;
}

errc fail(std::string& message, errc code, std::string text) {
  message = std::move(text);
  return code;
}

}  // namespace

errc decode_replay_request(std::span<const char> body, size_t max_request_bytes,
                           uint64_t max_events, msgpack::object_handle& oh, replay_request& out,
                           std::string& message) {
  out = replay_request{};
  message.clear();
  // The same checks as on the command endpoint (core/msgpack_decode.h), so a
  // client may send anything there that it may send a command with.
  limits lim;
  lim.max_request_bytes = max_request_bytes;
  auto zone = std::make_unique<msgpack::zone>();
  const msgpack::object* parsed = nullptr;
  errc e = errc::ok;
  if (body.size() > max_request_bytes) {
    e = fail(message, errc::too_large,
             "request of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
                 std::to_string(max_request_bytes));
  } else if (decode_msgpack(body, *zone, lim, parsed, message) != errc::ok) {
    e = errc::bad_request;
    message = "not MessagePack: " + message;
  }
  if (e != errc::ok) {
    out.req = find_req(body, lim);  // echoed in the error reply
    oh.set(msgpack::object());
    oh.zone() = std::move(zone);
    return e;
  }
  oh.set(*parsed);
  oh.zone() = std::move(zone);
  const auto& root = oh.get();
  if (root.type != msgpack::type::MAP)
    return fail(message, errc::bad_request, "a replay request is a map");
  if (has_duplicate_key(root)) {  // it was served by the first one (an outside probe)
    if (const msgpack::object_kv* kv = entry(root, "req")) out.req = raw_value(*kv, body);
    return fail(message, errc::bad_request, "a field given twice");
  }
  if (const msgpack::object_kv* kv = entry(root, "req")) out.req = raw_value(*kv, body);
  if (const auto* op = get(root, "op")) {
    if (op->type == msgpack::type::STR &&
        std::string_view(op->via.str.ptr, op->via.str.size) == "ping") {
      out.k = replay_request::kind::ping;
      return errc::ok;
    }
    return fail(message, errc::bad_request, "unknown op (replay knows ping)");
  }
  bool bad = false;
  uint64_t max = max_events;  // absent or nil: the server's page
  get_uint(root, "max", max, bad);
  out.max = std::min<uint64_t>(max, max_events);  // 0: no events, only head
  if (get(root, "agg") != nullptr || get(root, "id") != nullptr) {
    const auto* agg = get(root, "agg");
    const auto* id = get(root, "id");
    uint64_t from_ver = 1;
    get_uint(root, "from_ver", from_ver, bad);
    if (bad || !agg || !id || agg->type != msgpack::type::STR || id->type != msgpack::type::STR)
      return fail(message, errc::bad_request,
                  "aggregate history needs agg (string), id (string), from_ver (uint, optional)");
    out.k = replay_request::kind::aggregate;
    out.agg = std::string_view(agg->via.str.ptr, agg->via.str.size);
    out.id = std::string_view(id->via.str.ptr, id->via.str.size);
    out.from_ver = from_ver;
    return errc::ok;
  }
  uint64_t from = 0;
  if (!get_uint(root, "from", from, bad) || bad)
    return fail(message, errc::bad_request, "replay needs from (uint) and max (uint, optional)");
  out.k = replay_request::kind::range;
  out.from = from == 0 ? 1 : from;
  return errc::ok;
}

}  // namespace rill::transport
