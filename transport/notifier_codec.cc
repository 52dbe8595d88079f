#include "transport/notifier_codec.h"

#include "core/msgpack.h"
#include "core/msgpack_check.h"
#include "core/msgpack_cursor.h"
#include "core/utf8.h"
#include "transport/notifier_protocol.h"

namespace rill::transport::notify {

namespace {

using packer = msgpack::packer<out_buffer>;
using kind = msgpack_cursor::kind;

void pack_str(packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

errc bad(std::string& message, std::string text) {
  message = std::move(text);
  return errc::bad_request;
}

bool valid_model(std::string_view m) {
  return !m.empty() && m.size() <= kMaxModelLen && m.find('\0') == std::string_view::npos;
}

bool valid_key(std::string_view k) {
  return !k.empty() && k.size() <= kMaxKeyLen;
}

// Reads a map key that must be a string.
bool read_field_name(msgpack_cursor& c, std::string_view& name) {
  return c.read_str(name);
}

// The raw bytes of the next value (skipped).
bool read_raw(msgpack_cursor& c, std::span<const char>& raw) {
  const size_t at = c.offset();
  if (!c.skip()) return false;
  raw = c.bytes_since(at);
  return true;
}

errc prepare(std::span<const char> bytes, const limits& lim, msgpack_cursor& c, uint32_t& fields,
             std::string& message) {
  if (bytes.size() > lim.max_request_bytes) {
    message = "message of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
              std::to_string(lim.max_request_bytes);
    return errc::too_large;
  }
  if (errc e = check_msgpack(bytes, lim, message); e != errc::ok) return e;
  c = msgpack_cursor(bytes);
  if (!c.read_map_header(fields)) return bad(message, "message is not a map");
  return errc::ok;
}

}  // namespace

std::string_view to_string(op o) {
  switch (o) {
    case op::watch:
      return kOpWatch;
    case op::unwatch:
      return kOpUnwatch;
    case op::ping:
      return kOpPing;
    case op::status:
      return kOpStatus;
  }
  return "unknown";
}

namespace {

// The top-level `req` of a map, wherever it is, to echo it in the error
// reply to a request that failed before `req` was reached (or was too large
// to decode). Steps over at most lim.max_elements values, and returns the
// value only if it is itself well-formed and within the request limit.
std::span<const char> find_req(std::span<const char> bytes, const limits& lim) {
  msgpack_cursor c(bytes);
  uint32_t n = 0;
  if (!c.read_map_header(n)) return {};
  uint64_t budget = lim.max_elements;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view name;
    if (!c.read_str(name)) {
      if (!c.skip(budget)) return {};
    }
    const size_t at = c.offset();
    if (!c.skip(budget)) return {};
    if (name != kFieldReq) continue;
    const std::span<const char> raw = c.bytes_since(at);
    std::string ignored;
    if (raw.size() > lim.max_request_bytes || check_msgpack(raw, lim, ignored) != errc::ok)
      return {};
    return raw;
  }
  return {};
}

errc decode_request_fields(std::span<const char> bytes, const limits& lim, request& out,
                           std::string& message);

}  // namespace

errc decode_request(std::span<const char> bytes, const limits& lim, request& out,
                    std::string& message) {
  const errc e = decode_request_fields(bytes, lim, out, message);
  // A request that failed before its `req` was read (a bad field, or too
  // large to decode) still gets its req back when it can be found.
  if ((e == errc::bad_request || e == errc::too_large) && out.req.empty())
    out.req = find_req(bytes, lim);
  return e;
}

namespace {

errc decode_request_fields(std::span<const char> bytes, const limits& lim, request& out,
                           std::string& message) {
  out = request{};
  msgpack_cursor c;
  uint32_t n = 0;
  if (errc e = prepare(bytes, lim, c, n, message); e != errc::ok) return e;
  bool have_op = false, have_model = false, have_key = false, have_req = false;
  std::string_view op_name;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view name;
    if (!read_field_name(c, name)) return bad(message, "field names must be strings");
    if (name == kFieldOp) {
      if (have_op) return bad(message, "duplicate field 'op'");
      have_op = true;
      if (!c.read_str(op_name)) return bad(message, "'op' must be a string");
    } else if (name == kFieldModel) {
      if (have_model) return bad(message, "duplicate field 'model'");
      have_model = true;
      if (!c.read_str(out.model)) return bad(message, "'model' must be a string");
      if (!valid_model(out.model))
        return bad(message,
                   "'model' must be 1.." + std::to_string(kMaxModelLen) + " bytes without NUL");
    } else if (name == kFieldKey) {
      if (have_key) return bad(message, "duplicate field 'key'");
      have_key = true;
      if (c.read_nil()) continue;  // nil: the whole model
      std::string_view k;
      if (!c.read_str(k)) return bad(message, "'key' must be a string or nil");
      if (!valid_key(k))
        return bad(message, "'key' must be 1.." + std::to_string(kMaxKeyLen) + " bytes");
      out.key = k;
    } else if (name == kFieldReq) {
      if (have_req) return bad(message, "duplicate field 'req'");
      have_req = true;
      if (!read_raw(c, out.req)) return bad(message, "malformed 'req'");
    } else {
      std::string shown(utf8_prefix(name, 64));
      return bad(message, "unknown field '" + shown + "'");
    }
  }
  if (!have_op) return bad(message, "missing 'op'");
  if (op_name == kOpWatch) {
    out.kind = op::watch;
  } else if (op_name == kOpUnwatch) {
    out.kind = op::unwatch;
  } else if (op_name == kOpPing) {
    out.kind = op::ping;
  } else if (op_name == kOpStatus) {
    out.kind = op::status;
  } else {
    return bad(message, "unknown op '" + std::string(utf8_prefix(op_name, 64)) + "'");
  }
  if ((out.kind == op::watch || out.kind == op::unwatch) && !have_model)
    return bad(message, "missing 'model'");
  return errc::ok;
}

}  // namespace

errc decode_report(std::span<const char> bytes, const limits& lim, size_t max_keys,
                   change_report& out, std::string& message) {
  out.model = {};
  out.keys.clear();
  out.seqs.clear();
  out.seq = 0;
  out.whole = false;
  msgpack_cursor c;
  uint32_t n = 0;
  if (errc e = prepare(bytes, lim, c, n, message); e != errc::ok) return e;
  bool have_model = false, have_keys = false, have_seq = false, have_seqs = false;
  uint32_t key_count = 0;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view name;
    if (!read_field_name(c, name)) return bad(message, "field names must be strings");
    if (name == kFieldModel) {
      if (have_model) return bad(message, "duplicate field 'model'");
      have_model = true;
      if (!c.read_str(out.model) || !valid_model(out.model))
        return bad(message, "'model' must be a string of 1.." + std::to_string(kMaxModelLen) +
                                " bytes without NUL");
    } else if (name == kFieldKeys) {
      if (have_keys) return bad(message, "duplicate field 'keys'");
      have_keys = true;
      uint32_t count = 0;
      if (!c.read_array_header(count)) return bad(message, "'keys' must be an array");
      key_count = count;
      const bool fold = count == 0 || count > max_keys;
      out.whole = fold;
      if (!fold) out.keys.reserve(count);
      for (uint32_t k = 0; k < count; ++k) {
        std::string_view key;
        if (!c.read_str(key) || !valid_key(key))
          return bad(message,
                     "'keys' must hold strings of 1.." + std::to_string(kMaxKeyLen) + " bytes");
        if (!fold) out.keys.push_back(key);
      }
    } else if (name == kFieldSeq) {
      if (have_seq) return bad(message, "duplicate field 'seq'");
      have_seq = true;
      if (!c.read_uint(out.seq)) return bad(message, "'seq' must be an unsigned integer");
    } else if (name == kFieldSeqs) {
      if (have_seqs) return bad(message, "duplicate field 'seqs'");
      have_seqs = true;
      uint32_t count = 0;
      if (!c.read_array_header(count)) return bad(message, "'seqs' must be an array");
      out.seqs.reserve(std::min<uint32_t>(count, 1u << 16));
      for (uint32_t k = 0; k < count; ++k) {
        uint64_t s = 0;
        if (!c.read_uint(s)) return bad(message, "'seqs' must hold unsigned integers");
        out.seqs.push_back(s);
      }
    } else {
      if (!c.skip()) return bad(message, "malformed field value");  // extra fields are ignored
    }
  }
  if (!have_model) return bad(message, "missing 'model'");
  if (!have_keys) return bad(message, "missing 'keys'");
  if (!have_seq) return bad(message, "missing 'seq'");
  if (have_seqs) {
    if (out.seqs.size() != key_count) return bad(message, "'seqs' must have one entry per key");
    for (uint64_t s : out.seqs)
      if (s > out.seq) return bad(message, "'seqs' must not exceed 'seq'");
    if (out.whole) out.seqs.clear();
  }
  return errc::ok;
}

errc errc_from_string(std::string_view s) {
  for (uint8_t i = 0; i < static_cast<uint8_t>(errc::count_); ++i) {
    if (rill::to_string(static_cast<errc>(i)) == s) return static_cast<errc>(i);
  }
  return errc::count_;
}

errc decode_server_message(std::span<const char> bytes, server_message& out, std::string& message) {
  out = server_message{};
  limits lim;
  lim.max_request_bytes = 64 << 20;
  msgpack_cursor c;
  uint32_t n = 0;
  if (errc e = prepare(bytes, lim, c, n, message); e != errc::ok) return e;
  bool have_ok = false;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view name;
    if (!read_field_name(c, name)) return bad(message, "field names must be strings");
    bool read = true;
    if (name == kFieldNote) {
      std::string_view v;
      read = c.read_str(v) && v == kNoteChanged;
      out.is_note = read;
    } else if (name == kFieldModel) {
      read = c.read_str(out.model);
    } else if (name == kFieldKey) {
      std::string_view k;
      if (c.read_nil()) {
        out.key.reset();
      } else {
        read = c.read_str(k);
        out.key = k;
      }
    } else if (name == kFieldSeq) {
      read = c.read_uint(out.seq);
    } else if (name == kFieldOk) {
      read = c.read_bool(out.ok);
      have_ok = read;
    } else if (name == kFieldOp) {
      read = c.read_str(out.op_name);
    } else if (name == kFieldError) {
      std::string_view e;
      read = c.read_str(e);
      out.error = errc_from_string(e);
    } else if (name == kFieldMessage) {
      read = c.read_str(out.message);
    } else if (name == kFieldKnown) {
      bool b = false;
      read = c.read_bool(b);
      out.known = b;
    } else if (name == kFieldExpiry) {
      uint64_t v = 0;
      read = c.read_uint(v);
      out.expiry_ms = v;
    } else if (name == kFieldReq) {
      uint64_t v = 0;
      if (c.read_uint(v)) {
        out.req = v;
      } else {
        read = c.skip();
      }
    } else {
      read = c.skip();
    }
    if (!read) return bad(message, "field '" + std::string(utf8_prefix(name, 64)) + "' mistyped");
  }
  if (out.is_note) {
    if (!valid_model(out.model)) return bad(message, "note without a valid model");
    return errc::ok;
  }
  if (!have_ok) return bad(message, "neither a note nor a reply");
  if (!out.ok && out.error == errc::ok) out.error = errc::count_;
  return errc::ok;
}

void encode_ok_reply(out_buffer& out, std::string_view op_name, bool known,
                     std::span<const field> fields, std::span<const char> req) {
  packer pk(out);
  pk.pack_map(static_cast<uint32_t>(3 + fields.size() + (req.empty() ? 0 : 1)));
  pack_str(pk, kFieldOk);
  pk.pack_true();
  pack_str(pk, kFieldOp);
  pack_str(pk, op_name);
  pack_str(pk, kFieldKnown);
  if (known) {
    pk.pack_true();
  } else {
    pk.pack_false();
  }
  for (const field& f : fields) {
    pack_str(pk, f.name);
    if (auto* u = std::get_if<uint64_t>(&f.value)) {
      pk.pack_uint64(*u);
    } else if (auto* b = std::get_if<bool>(&f.value)) {
      if (*b) {
        pk.pack_true();
      } else {
        pk.pack_false();
      }
    } else if (auto* p = std::get_if<packed_value>(&f.value)) {
      out.write(p->bytes.data(), p->bytes.size());
    } else {
      pack_str(pk, std::get<std::string_view>(f.value));
    }
  }
  if (!req.empty()) {
    pack_str(pk, kFieldReq);
    out.write(req.data(), req.size());  // already MessagePack
  }
}

void encode_ok_reply(out_buffer& out, std::string_view op_name, bool known,
                     std::initializer_list<field> fields, std::span<const char> req) {
  encode_ok_reply(out, op_name, known, std::span<const field>(fields.begin(), fields.size()), req);
}

void encode_error_reply(out_buffer& out, errc code, std::string_view message, bool known,
                        uint64_t expiry_ms, std::span<const char> req) {
  packer pk(out);
  pk.pack_map(req.empty() ? 5 : 6);
  pack_str(pk, kFieldOk);
  pk.pack_false();
  pack_str(pk, kFieldError);
  pack_str(pk, rill::to_string(code));
  pack_str(pk, kFieldMessage);
  pack_str(pk, message);
  pack_str(pk, kFieldKnown);
  if (known) {
    pk.pack_true();
  } else {
    pk.pack_false();
  }
  pack_str(pk, kFieldExpiry);
  pk.pack_uint64(expiry_ms);
  if (!req.empty()) {
    pack_str(pk, kFieldReq);
    out.write(req.data(), req.size());
  }
}

void encode_note(out_buffer& out, std::string_view model, std::optional<std::string_view> key,
                 uint64_t seq) {
  packer pk(out);
  pk.pack_map(4);
  pack_str(pk, kFieldNote);
  pack_str(pk, kNoteChanged);
  pack_str(pk, kFieldModel);
  pack_str(pk, model);
  pack_str(pk, kFieldKey);
  if (key) {
    pack_str(pk, *key);
  } else {
    pk.pack_nil();
  }
  pack_str(pk, kFieldSeq);
  pk.pack_uint64(seq);
}

void encode_request(out_buffer& out, op o, std::optional<std::string_view> model,
                    std::optional<std::string_view> key, uint64_t req) {
  packer pk(out);
  pk.pack_map(static_cast<uint32_t>(2 + (model ? 1 : 0) + (key ? 1 : 0)));
  pack_str(pk, kFieldOp);
  pack_str(pk, to_string(o));
  if (model) {
    pack_str(pk, kFieldModel);
    pack_str(pk, *model);
  }
  if (key) {
    pack_str(pk, kFieldKey);
    pack_str(pk, *key);
  }
  pack_str(pk, kFieldReq);
  pk.pack_uint64(req);
}

void encode_report(out_buffer& out, std::string_view model, std::span<const std::string_view> keys,
                   uint64_t seq, std::span<const uint64_t> seqs, bool all) {
  packer pk(out);
  pk.pack_map(3 + (seqs.empty() ? 0 : 1) + (all ? 1 : 0));
  pack_str(pk, kFieldModel);
  pack_str(pk, model);
  pack_str(pk, kFieldKeys);
  pk.pack_array(static_cast<uint32_t>(keys.size()));
  for (std::string_view k : keys) pack_str(pk, k);
  pack_str(pk, kFieldSeq);
  pk.pack_uint64(seq);
  if (!seqs.empty()) {
    pack_str(pk, kFieldSeqs);
    pk.pack_array(static_cast<uint32_t>(seqs.size()));
    for (uint64_t s : seqs) pk.pack_uint64(s);
  }
  if (all) {
    pack_str(pk, "all");
    pk.pack(true);
  }
}

}  // namespace rill::transport::notify
