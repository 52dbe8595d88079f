// libFuzzer target: arbitrary bytes as one event body, as rill-proj receives
// it from the event feed (SUB socket), the replay endpoint or the journal,
// through the projector's decoder (readmodels/projector_decode.h: the
// canonical fast path, falling back to core's decode_event), and then applied
// to every default model (filled with a small event log; sagas off), which
// are then queried, saved and loaded again.
// Aborts on what a crash would not show: the fast path and decode_event
// disagreeing on an event both accept, peek_event_kind (the filter that lets
// a model pass over kinds it does not read) disagreeing with either, a model
// whose save() output does not load again. A model that throws on a strange
// event is not a finding here (the projector stops that model, and rill-core
// validates events against the schema before journaling them); a crash or
// sanitizer report is.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "core/buffer.h"
#include "core/event.h"
#include "readmodels/projector_decode.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace rill;
using namespace rill::readmodels;

// Deep equality, floats by their bits (NaN == NaN here).
bool same_object(const msgpack::object& a, const msgpack::object& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return std::memcmp(&a.via.f64, &b.via.f64, sizeof a.via.f64) == 0;
    case msgpack::type::STR:
    case msgpack::type::BIN:
      return a.via.str.size == b.via.str.size &&
             std::memcmp(a.via.str.ptr, b.via.str.ptr, a.via.str.size) == 0;
    case msgpack::type::EXT:
      return a.via.ext.size == b.via.ext.size &&
             std::memcmp(a.via.ext.ptr, b.via.ext.ptr, a.via.ext.size) == 0;
    case msgpack::type::ARRAY:
      if (a.via.array.size != b.via.array.size) return false;
      for (uint32_t i = 0; i < a.via.array.size; ++i)
        if (!same_object(a.via.array.ptr[i], b.via.array.ptr[i])) return false;
      return true;
    case msgpack::type::MAP:
      if (a.via.map.size != b.via.map.size) return false;
      for (uint32_t i = 0; i < a.via.map.size; ++i)
        if (!same_object(a.via.map.ptr[i].key, b.via.map.ptr[i].key) ||
            !same_object(a.via.map.ptr[i].val, b.via.map.ptr[i].val))
          return false;
      return true;
    default:
      return a == b;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const char> body(reinterpret_cast<const char*>(data), size);
  msgpack::zone z1, z2;
  event_view fast, slow;
  std::string why;
  const bool fast_ok = decode_canonical_event(body, z1, fast);
  const bool slow_ok = decode_event(body, z2, slow, &why) == errc::ok;
  if (!slow_ok) FUZZ_REQUIRE(!why.empty());
  // The fast path trusts the journal for UTF-8, so it may accept what
  // decode_event refuses; where both accept they must agree.
  if (fast_ok && slow_ok) {
    FUZZ_REQUIRE(fast.seq == slow.seq && fast.ts == slow.ts && fast.ver == slow.ver);
    FUZZ_REQUIRE(fast.type == slow.type && fast.agg == slow.agg && fast.id == slow.id);
    FUZZ_REQUIRE(fast.key == slow.key && fast.corr == slow.corr);
    FUZZ_REQUIRE(fast.data != nullptr && slow.data != nullptr &&
                 same_object(*fast.data, *slow.data));
  }
  event_kind_head kind;
  if (peek_event_kind(body, kind)) {
    for (const event_view* d : {fast_ok ? &fast : nullptr, slow_ok ? &slow : nullptr}) {
      if (d == nullptr) continue;
      FUZZ_REQUIRE(kind.seq == d->seq && kind.ts == d->ts);
      FUZZ_REQUIRE(kind.type == d->type && kind.agg == d->agg);
    }
  } else {
    // It peeks every event in rill's own layout.
    FUZZ_REQUIRE(!fast_ok);
  }
  event_decoder decoder;
  event_view v;
  if (decoder.decode(body, v, why) != errc::ok) return 0;
  FUZZ_REQUIRE(v.data == nullptr || v.data->type == msgpack::type::MAP);

  static const auto names = readmodels::model_names();
  for (const auto& name : names) {
    auto m = rill::fuzz::make_model(name);
    rill::fuzz::domain_log().apply_to(*m);
    event_view e = v;
    e.seq = rill::fuzz::domain_log().size() + 1;  // the projector applies in seq order
    change_set changed;
    try {
      m->apply(e, changed);
    } catch (const std::exception&) {
      continue;
    }
    out_buffer saved;
    m->save(saved);
    auto back = rill::fuzz::make_model(name);
    std::string error;
    FUZZ_REQUIRE(back->load(saved.span(), error));
    out_buffer again;
    back->save(again);
    FUZZ_REQUIRE(again.view() == saved.view());
  }
  return 0;
}
