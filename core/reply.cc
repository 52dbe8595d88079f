#include "core/reply.h"

namespace rill {

namespace {

using packer = msgpack::packer<out_buffer>;

void pack_str(packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void ok_body(packer& pk, uint64_t seq, uint64_t ver, bool dup) {
  pack_str(pk, "ok");
  pk.pack_true();
  pack_str(pk, "seq");
  pk.pack_uint64(seq);
  pack_str(pk, "ver");
  pk.pack_uint64(ver);
  pack_str(pk, "dup");
  if (dup) {
    pk.pack_true();
  } else {
    pk.pack_false();
  }
}

void error_body(packer& pk, errc code, std::string_view message, std::optional<uint64_t> ver) {
  pack_str(pk, "ok");
  pk.pack_false();
  pack_str(pk, "error");
  pack_str(pk, to_string(code));
  pack_str(pk, "message");
  pack_str(pk, message);
  if (ver) {
    pack_str(pk, "ver");
    pk.pack_uint64(*ver);
  }
}

void req_field(packer& pk, const msgpack::object* req) {
  if (req == nullptr) return;
  pack_str(pk, "req");
  pk.pack(*req);
}

}  // namespace

void encode_ok(out_buffer& out, uint64_t seq, uint64_t ver, bool dup,
               const msgpack::object* req) {
  packer pk(out);
  pk.pack_map(4 + (req != nullptr));
  ok_body(pk, seq, ver, dup);
  req_field(pk, req);
}

void encode_error(out_buffer& out, errc code, std::string_view message,
                  const msgpack::object* req, std::optional<uint64_t> ver) {
  packer pk(out);
  pk.pack_map(3 + ver.has_value() + (req != nullptr));
  error_body(pk, code, message, ver);
  req_field(pk, req);
}

void encode_ack(out_buffer& out, const msgpack::object* req) {
  packer pk(out);
  pk.pack_map(1 + (req != nullptr));
  pack_str(pk, "ok");
  pk.pack_true();
  req_field(pk, req);
}

void batch_reply_writer::begin(size_t count, const msgpack::object* req) {
  req_ = req;
  packer pk(out_);
  pk.pack_map(2 + (req != nullptr));
  pack_str(pk, "ok");
  pk.pack_true();
  pack_str(pk, "results");
  pk.pack_array(static_cast<uint32_t>(count));
}

void batch_reply_writer::add_ok(uint64_t seq, uint64_t ver, bool dup) {
  packer pk(out_);
  pk.pack_map(4);
  ok_body(pk, seq, ver, dup);
}

void batch_reply_writer::add_error(errc code, std::string_view message,
                                   std::optional<uint64_t> ver) {
  packer pk(out_);
  pk.pack_map(3 + ver.has_value());
  error_body(pk, code, message, ver);
}

void batch_reply_writer::finish() {
  packer pk(out_);
  req_field(pk, req_);
  req_ = nullptr;
}

}  // namespace rill
