// libFuzzer target: arbitrary bytes as a request on rill-core's replay
// endpoint, decoded as replay_server does (transport/replay_request.h), with
// the reply encoders on the result. Aborts on what a crash would not show:
// an error without a message, a decoded request outside its promises (from
// at least 1, max within 1..max_events), a decoded request that does not
// survive encode + decode unchanged, a reply that is not one MessagePack
// value.
#include <cstdint>
#include <span>
#include <string>

#include "core/buffer.h"
#include "core/msgpack.h"
#include "core/reply.h"
#include "tests/fuzz/fuzz_util.h"
#include "transport/replay_request.h"

namespace {

using namespace rill;
using rill::fuzz::one_value;
using transport::replay_request;

// Packs the request `r` stands for, as a client would send it.
void encode(out_buffer& out, const replay_request& r) {
  msgpack::packer<out_buffer> pk(out);
  switch (r.k) {
    case replay_request::kind::ping:
      pk.pack_map(1);
      pk.pack("op");
      pk.pack("ping");
      return;
    case replay_request::kind::range:
      pk.pack_map(2);
      pk.pack("from");
      pk.pack(r.from);
      pk.pack("max");
      pk.pack(r.max);
      return;
    case replay_request::kind::aggregate:
      pk.pack_map(4);
      pk.pack("agg");
      pk.pack(r.agg);
      pk.pack("id");
      pk.pack(r.id);
      pk.pack("from_ver");
      pk.pack(r.from_ver);
      pk.pack("max");
      pk.pack(r.max);
      return;
  }
}

void run(std::span<const char> bytes, size_t max_request_bytes, uint64_t max_events) {
  msgpack::object_handle oh;
  replay_request r;
  std::string message;
  out_buffer out;
  const errc e =
      transport::decode_replay_request(bytes, max_request_bytes, max_events, oh, r, message);
  if (e != errc::ok) {
    FUZZ_REQUIRE(e == errc::bad_request || e == errc::too_large);
    FUZZ_REQUIRE(!message.empty());
    encode_error(out, e, message, r.req);
    FUZZ_REQUIRE(one_value(out.span()));
    return;
  }
  if (r.k == replay_request::kind::ping) {
    encode_ack(out, r.req);
    FUZZ_REQUIRE(one_value(out.span()));
    return;
  }
  FUZZ_REQUIRE(r.max <= max_events);
  if (r.k == replay_request::kind::range) FUZZ_REQUIRE(r.from >= 1);
  // The reply header replay_server writes around the event bodies.
  {
    msgpack::packer<out_buffer> pk(out);
    pk.pack_map(r.req.empty() ? 3 : 4);
    pk.pack("ok");
    pk.pack(true);
    pk.pack("events");
    pk.pack_array(0);
    pk.pack("head");
    pk.pack(uint64_t{9});
    if (!r.req.empty()) {
      FUZZ_REQUIRE(one_value(r.req));
      pk.pack("req");
      out.write(r.req.data(), r.req.size());
    }
  }
  FUZZ_REQUIRE(one_value(out.span()));
  // The same request, as a client packs it, decodes the same.
  out_buffer again;
  encode(again, r);
  msgpack::object_handle oh2;
  replay_request back;
  FUZZ_REQUIRE(transport::decode_replay_request(again.span(), 1 << 20, max_events, oh2, back,
                                                message) == errc::ok);
  FUZZ_REQUIRE(back.k == r.k && back.max == r.max && back.req.empty());
  if (r.k == replay_request::kind::range) FUZZ_REQUIRE(back.from == r.from);
  if (r.k == replay_request::kind::aggregate)
    FUZZ_REQUIRE(back.agg == r.agg && back.id == r.id && back.from_ver == r.from_ver);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const char> bytes(reinterpret_cast<const char*>(data), size);
  run(bytes, 64 << 10, 10'000);  // rill-core's defaults
  run(bytes, 64, 1);
  return 0;
}
