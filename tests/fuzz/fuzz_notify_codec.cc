// libFuzzer target: arbitrary bytes through every notifier decoder
// (transport/notifier_codec.h), each of which reads bytes off a socket:
//   decode_request         a request on rill-notify's notify endpoint
//                          (watch / unwatch / ping / status)
//   decode_report          a change report on the notify-in endpoint
//   decode_server_message  a note or reply, as notify_client reads it
// plus the reply encoders on what they decoded. Aborts on what a crash would
// not show: an error without a message, a message that is not valid UTF-8,
// a decoded value that breaks the protocol's limits, a decoded request or
// report that does not survive encode + decode unchanged, a reply that is
// not one MessagePack value.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/utf8.h"
#include "tests/fuzz/fuzz_util.h"
#include "transport/notifier_codec.h"
#include "transport/notifier_protocol.h"

namespace {

using namespace rill;
using namespace rill::transport::notify;
using rill::fuzz::one_value;

void check_error(errc e, const std::string& message) {
  FUZZ_REQUIRE(e == errc::bad_request || e == errc::too_large);
  FUZZ_REQUIRE(!message.empty() && valid_utf8(message));
}

void fuzz_request(std::span<const char> bytes, const limits& lim) {
  request r;
  std::string message;
  out_buffer out;
  const errc e = decode_request(bytes, lim, r, message);
  if (e != errc::ok) {
    check_error(e, message);
    encode_error_reply(out, e, message, false, 30000, r.req);
    FUZZ_REQUIRE(one_value(out.span()));
    return;
  }
  if (r.kind == op::watch || r.kind == op::unwatch) {
    FUZZ_REQUIRE(!r.model.empty() && r.model.size() <= kMaxModelLen);
  }
  if (r.key) FUZZ_REQUIRE(!r.key->empty() && r.key->size() <= kMaxKeyLen);
  if (!r.req.empty()) FUZZ_REQUIRE(one_value(r.req));
  encode_ok_reply(out, to_string(r.kind), true, {{"expiry_ms", uint64_t{30000}}}, r.req);
  FUZZ_REQUIRE(one_value(out.span()));
  // What notify_client would send for it decodes to the same request.
  out_buffer again;
  encode_request(again, r.kind,
                 r.model.empty() ? std::nullopt : std::optional<std::string_view>(r.model), r.key,
                 42);
  request back;
  FUZZ_REQUIRE(decode_request(again.span(), lim, back, message) == errc::ok);
  FUZZ_REQUIRE(back.kind == r.kind && back.model == r.model && back.key == r.key);
}

void fuzz_report(std::span<const char> bytes, const limits& lim) {
  constexpr size_t kMaxKeys = 16;
  change_report rep;
  std::string message;
  const errc e = decode_report(bytes, lim, kMaxKeys, rep, message);
  if (e != errc::ok) {
    check_error(e, message);
    return;
  }
  FUZZ_REQUIRE(!rep.model.empty() && rep.model.size() <= kMaxModelLen);
  FUZZ_REQUIRE(rep.whole == rep.keys.empty());
  FUZZ_REQUIRE(rep.keys.size() <= kMaxKeys);
  for (auto k : rep.keys) FUZZ_REQUIRE(!k.empty() && k.size() <= kMaxKeyLen);
  FUZZ_REQUIRE(rep.seqs.empty() || rep.seqs.size() == rep.keys.size());
  for (uint64_t s : rep.seqs) FUZZ_REQUIRE(s <= rep.seq);
  // Re-encoded as a read model would push it, it decodes the same.
  out_buffer again;
  encode_report(again, rep.model, rep.keys, rep.seq, rep.seqs);
  change_report back;
  FUZZ_REQUIRE(decode_report(again.span(), lim, kMaxKeys, back, message) == errc::ok);
  FUZZ_REQUIRE(back.model == rep.model && back.keys == rep.keys && back.seq == rep.seq &&
               back.seqs == rep.seqs && back.whole == rep.whole);
  // The notes the notifier would send for it.
  out_buffer note;
  encode_note(note, rep.model,
              rep.keys.empty() ? std::nullopt : std::optional<std::string_view>(rep.keys[0]),
              rep.seq);
  server_message m;
  FUZZ_REQUIRE(decode_server_message(note.span(), m, message) == errc::ok);
  FUZZ_REQUIRE(m.is_note && m.model == rep.model && m.seq == rep.seq);
}

void fuzz_server_message(std::span<const char> bytes) {
  server_message m;
  std::string message;
  const errc e = decode_server_message(bytes, m, message);
  if (e != errc::ok) {
    check_error(e, message);
    return;
  }
  (void)errc_from_string(m.message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const char> bytes(reinterpret_cast<const char*>(data), size);
  limits lim;
  lim.max_request_bytes = 64 << 10;
  fuzz_request(bytes, lim);
  fuzz_report(bytes, lim);
  fuzz_server_message(bytes);
  return 0;
}
