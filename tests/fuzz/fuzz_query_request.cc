// libFuzzer target: arbitrary bytes as a request on a rill-proj query
// endpoint, as query_server runs them: decode_query, then (when it decodes)
// the named query against every default model (filled with a small event
// log; sagas off), as projector_queries does, and the reply encoders.
// Aborts on what a crash would not show: an error without a message, a reply
// or message that is not valid UTF-8 where the protocol promises it, a model
// that packs other than exactly one value, a decoded request that breaks the
// decoder's promises (args a map, timeout clamped).
#include <cstdint>
#include <span>
#include <string>

#include "core/buffer.h"
#include "core/utf8.h"
#include "readmodels/query_server_request.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace rill;
using namespace rill::readmodels;
using rill::fuzz::one_value;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto models = rill::fuzz::filled_models();
  const std::span<const char> bytes(reinterpret_cast<const char*>(data), size);
  query_decode_options opt;
  opt.lim.max_request_bytes = 64 << 10;
  opt.default_timeout_ms = 1000;
  opt.max_timeout_ms = 60000;

  msgpack::zone zone;
  query_request rq;
  std::string message;
  out_buffer out;
  const errc e = decode_query(bytes, zone, opt, rq, message);
  if (e != errc::ok) {
    FUZZ_REQUIRE(e == errc::bad_request || e == errc::too_large);
    FUZZ_REQUIRE(!message.empty() && valid_utf8(message));
    encode_query_error(out, e, message, rq.req);
    FUZZ_REQUIRE(one_value(out.span()));
    return 0;
  }
  FUZZ_REQUIRE(!rq.q.empty());
  FUZZ_REQUIRE(rq.args != nullptr && rq.args->type == msgpack::type::MAP);
  FUZZ_REQUIRE(rq.timeout_ms <= opt.max_timeout_ms);
  for (const auto& m : models) {
    out.clear();
    begin_query_reply(out, 7, rq.req);
    const size_t at = out.size();
    packer pk(out);
    std::string why;
    errc qe = errc::ok;
    try {
      qe = m->query(rq.q, *rq.args, pk, why);
    } catch (const std::exception&) {
      qe = errc::bad_request;  // projector_queries turns an exception into an error reply
    }
    if (qe == errc::ok) {
      FUZZ_REQUIRE(one_value(out.span().subspan(at)));
      FUZZ_REQUIRE(one_value(out.span()));
    } else {
      FUZZ_REQUIRE(valid_utf8(why));
      out.clear();
      encode_query_error(out, qe, why.empty() ? std::string(to_string(qe)) : why, rq.req);
      FUZZ_REQUIRE(one_value(out.span()));
    }
  }
  return 0;
}
