// libFuzzer target: arbitrary bytes through the command endpoint's decoding
// and validation, as rill-core runs them: decode_request, then per command
// decode_command + validator.check (staging, rollback for atomic batches),
// the reply and event encoders, and the event readers on what was encoded.
// Aborts on any inconsistency a crash would not show: a reply or message that
// is not valid UTF-8, an encoded event that does not read back, the
// structural check and the decoder disagreeing.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "core/buffer.h"
#include "core/event.h"
#include "core/limits.h"
#include "core/msgpack_check.h"
#include "core/msgpack_decode.h"
#include "core/msgpack_pack.h"
#include "core/reply.h"
#include "core/request.h"
#include "core/utf8.h"
#include "core/validator.h"

namespace {

using namespace rill;

void require(bool ok) {
  if (!ok) std::abort();
}

// An event encoded from a passed check must read back identically, whether
// its data is the client's bytes (data_raw, as rill-core writes it) or
// packed again from the decoded tree.
void check_event_round_trip(const command_request& c, const verdict& v, uint64_t seq) {
  // The decoder always knows the bytes of a command's data.
  require(c.data == nullptr || !c.data_raw.empty());
  event_view ev{.seq = seq,
                .ts = 1,
                .ver = v.ver,
                .type = v.def->event,
                .agg = c.agg,
                .id = c.id,
                .key = c.key,
                .corr = c.corr,
                .data = c.data,
                .data_raw = c.data_raw};
  out_buffer body, packed;
  encode_event(body, ev);
  ev.data_raw = {};
  encode_event(packed, ev);
  {
    msgpack::zone z1, z2;
    event_view a, b;
    require(decode_event(body.span(), z1, a) == errc::ok);
    require(decode_event(packed.span(), z2, b) == errc::ok);
    require(a.data != nullptr && b.data != nullptr);
    // Compared as packed bytes (NaN != NaN as objects).
    out_buffer pa, pb;
    pack_object(pa, *a.data);
    pack_object(pb, *b.data);
    require(pa.view() == pb.view());
    if (c.data != nullptr) {
      out_buffer pc;
      pack_object(pc, *c.data);
      require(pa.view() == pc.view());
    }
  }
  event_head h;
  require(peek_event(body.span(), h));
  require(h.seq == seq && h.ver == v.ver && h.agg == c.agg && h.id == c.id &&
          h.type == v.def->event && h.key == c.key);
  msgpack::zone zone;
  event_view e;
  std::string message;
  require(decode_event(body.span(), zone, e, &message) == errc::ok);
  require(e.seq == seq && e.id == c.id && e.corr == c.corr && e.data != nullptr);
}

void run_command(validator& val, const command_request& c, uint64_t& seq, batch_reply_writer* w,
                 out_buffer& out, std::span<const char> req) {
  const verdict v = val.check(c, seq + 1);
  require(valid_utf8(v.message));
  if (v.code == errc::ok && !v.dup) {
    ++seq;
    check_event_round_trip(c, v, seq);
  }
  if (w != nullptr) {
    if (v.code == errc::ok) {
      w->add_ok(v.seq, v.ver, v.dup);
    } else {
      w->add_error(v.code, v.message);
    }
  } else if (v.code == errc::ok) {
    encode_ok(out, v.seq, v.ver, v.dup, req);
  } else {
    encode_error(out, v.code, v.message, req);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const char> bytes(reinterpret_cast<const char*>(data), size);
  limits lim;
  lim.max_request_bytes = 64 << 10;
  lim.max_batch = 64;

  // The structural check and the decoder agree on every input.
  {
    msgpack::zone zone;
    const msgpack::object* root = nullptr;
    std::string m1, m2;
    const errc a = decode_msgpack(bytes, zone, lim, root, m1);
    const errc b = check_msgpack(bytes, lim, m2);
    require(a == b && m1 == m2 && (a == errc::ok) == (root != nullptr));
  }
  // Event readers on raw bytes must not crash.
  {
    msgpack::zone zone;
    event_view e;
    event_head h;
    (void)decode_event(bytes, zone, e);
    (void)peek_event(bytes, h);
  }

  msgpack::zone zone;
  request r;
  std::string message;
  out_buffer out;
  const errc e = decode_request(bytes, zone, lim, r, message);
  require(valid_utf8(message));
  if (e != errc::ok) {
    encode_error(out, e, message, r.req);
    return 0;
  }
  validator val(schema::default_schema(), validator_options{.max_keys = 8});
  val.apply("customer", "c1", 1, "k0", 1);
  val.apply("order", "o1", 1, "", 2);
  uint64_t seq = 2;
  switch (r.k) {
    case request::kind::command:
      run_command(val, r.command, seq, nullptr, out, r.req);
      break;
    case request::kind::batch: {
      batch_reply_writer w(out);
      w.begin(r.batch->via.array.size, r.req);
      const size_t sp = val.savepoint();
      for (uint32_t i = 0; i < r.batch->via.array.size; ++i) {
        command_request c;
        if (decode_command(r.batch->via.array.ptr[i], lim, c, message, r.bytes) != errc::ok) {
          require(valid_utf8(message));
          w.add_error(errc::bad_request, message);
          continue;
        }
        run_command(val, c, seq, &w, out, {});
      }
      w.finish();
      if (r.atomic) {
        val.rollback_to(sp);
        require(val.version("customer", "c1") == 1 && val.key_count() == 1);
      } else {
        val.commit();
      }
      break;
    }
    case request::kind::admin:
      encode_ack(out, r.req);
      break;
  }
  // Every reply reads back as one MessagePack value.
  require(check_msgpack(out.span(), limits{.max_depth = 256, .max_elements = out.size()},
                        message) == errc::ok);
  // Checkpoint of whatever state the input produced round-trips.
  out_buffer cp;
  val.commit();
  val.serialize(cp, seq);
  validator back(schema::default_schema());
  uint64_t at = 0;
  require(back.load(cp.span(), at) && at == seq && back.key_count() == val.key_count() &&
          back.aggregate_count() == val.aggregate_count());
  return 0;
}
