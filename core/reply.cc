#include "core/reply.h"

#include "core/msgpack_pack.h"

namespace rill {

namespace {

void ok_body(out_buffer& out, packer& pk, uint64_t seq, uint64_t ver, bool dup) {
  out.append(std::string_view("\xa2" "ok" "\xc3" "\xa3" "seq", 8));
  pk.pack_uint64(seq);
  out.append(std::string_view("\xa3" "ver", 4));
  pk.pack_uint64(ver);
  out.append(dup ? std::string_view("\xa3" "dup" "\xc3", 5)
                 : std::string_view("\xa3" "dup" "\xc2", 5));
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

void req_field(out_buffer& out, req_bytes req) {
  if (req.empty()) return;
  out.append(std::string_view("\xa3" "req", 4));
  out.write(req.data(), req.size());
}

}  // namespace

void encode_ok(out_buffer& out, uint64_t seq, uint64_t ver, bool dup, req_bytes req) {
  packer pk(out);
  pk.pack_map(4 + !req.empty());
  ok_body(out, pk, seq, ver, dup);
  req_field(out, req);
}

void encode_error(out_buffer& out, errc code, std::string_view message, req_bytes req,
                  std::optional<uint64_t> ver) {
  packer pk(out);
  pk.pack_map(3 + ver.has_value() + !req.empty());
  error_body(pk, code, message, ver);
  req_field(out, req);
}

void encode_ack(out_buffer& out, req_bytes req) {
  out.push_back(static_cast<char>(0x80 | (1 + !req.empty())));
  out.append(std::string_view("\xa2" "ok" "\xc3", 4));
  req_field(out, req);
}

void batch_reply_writer::begin(size_t count, req_bytes req) {
  req_ = req;
  packer pk(out_);
  pk.pack_map(2 + !req.empty());
  pack_str(pk, "ok");
  pk.pack_true();
  pack_str(pk, "results");
  pk.pack_array(static_cast<uint32_t>(count));
}

void batch_reply_writer::add_ok(uint64_t seq, uint64_t ver, bool dup) {
  packer pk(out_);
  pk.pack_map(4);
  ok_body(out_, pk, seq, ver, dup);
}

void batch_reply_writer::add_error(errc code, std::string_view message,
                                   std::optional<uint64_t> ver) {
  packer pk(out_);
  pk.pack_map(3 + ver.has_value());
  error_body(pk, code, message, ver);
}

void batch_reply_writer::finish() {
  req_field(out_, req_);
  req_ = {};
}

}  // namespace rill
