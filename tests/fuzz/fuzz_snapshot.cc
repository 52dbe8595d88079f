// libFuzzer target: read-model snapshots as rill-proj loads them from
// D/models/<name>/: snapshot_store::read (map + snapshot_format::decode) and
// then the model's load() on the body, followed by what the projector does
// with a loaded model (apply events, answer queries, save again).
//
// Input layout: byte 0 = flags, the rest = payload.
//   flags % 6 picks the default model (readmodels::model_names() order)
//   flags bit 7: the payload is a whole snapshot file, written as is;
//                otherwise it is a body, written through snapshot_store::write
//                (valid header and checksums), so that load() sees it.
// Aborts on what a crash would not show: read() and decode() disagreeing, a
// store that does not read back what it wrote, a body outside the file, a
// model whose save() output does not load again or is not reproduced by
// save() after that load.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "readmodels/registry.h"
#include "readmodels/snapshot_format.h"
#include "readmodels/snapshot_store.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace rill;
using namespace rill::readmodels;
using rill::fuzz::json;
using rill::fuzz::one_value;

struct query_case {
  const char* q;
  json args;
};

const std::vector<query_case>& queries() {
  static const std::vector<query_case> qs = {
      {"get", {{"id", "c1"}}},
      {"get", {{"id", "o1"}}},
      {"get", {{"id", "k1"}}},
      {"list", json::object()},
      {"list", {{"offset", 1}, {"limit", 1}}},
      {"top", {{"n", 3}}},
      {"by_customer", {{"customer_id", "c1"}}},
      {"rating", {{"id", "c1"}}},
      {"segment", {{"classification", "A"}}},
      {"pending", json::object()},
  };
  return qs;
}

void ask_everything(const read_model& m) {
  for (const auto& qc : queries()) {
    const std::vector<uint8_t> a = json::to_msgpack(qc.args);
    msgpack::object_handle oh = msgpack::unpack(reinterpret_cast<const char*>(a.data()), a.size());
    out_buffer out;
    packer pk(out);
    std::string message;
    errc e = errc::ok;
    try {
      e = m.query(qc.q, oh.get(), pk, message);
    } catch (const std::exception&) {
      e = errc::bad_request;  // projector_queries answers an exception with an error
    }
    if (e == errc::ok) FUZZ_REQUIRE(one_value(out.span()));
  }
}

std::string saved(const read_model& m) {
  out_buffer out;
  m.save(out);
  return std::string(out.view());
}

// Loads `bytes` (a save() output) into a new `name`; aborts with the error.
std::unique_ptr<read_model> reload(const std::string& name, const std::string& bytes) {
  auto m = rill::fuzz::make_model(name);
  std::string error;
  if (!m->load({bytes.data(), bytes.size()}, error)) {
    std::fprintf(stderr, "%s: save() output does not load: %s\n", name.c_str(), error.c_str());
    std::abort();
  }
  return m;
}

void load_body(const std::string& name, std::span<const char> body) {
  auto m = rill::fuzz::make_model(name);
  std::string error;
  if (!m->load(body, error)) {
    FUZZ_REQUIRE(!error.empty());
    return;
  }
  // A loaded state saves, and loads again to the same state.
  const std::string s1 = saved(*m);
  FUZZ_REQUIRE(saved(*reload(name, s1)) == s1);
  ask_everything(*m);
  // The projector goes on applying events after the snapshot's seq.
  rill::fuzz::domain_log().apply_to(*m);
  ask_everything(*m);
  (void)reload(name, saved(*m));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const std::vector<std::string> names = model_names();
  const uint8_t flags = data[0];
  const std::string& name = names[flags % names.size()];
  const std::span<const char> payload(reinterpret_cast<const char*>(data) + 1, size - 1);

  static snapshot_store store = [] {
    snapshot_store s(rill::fuzz::scratch_dir() / "snapshots", "", 1);
    std::string message;
    FUZZ_REQUIRE(s.open(message) == snapshot_status::ok);
    return s;
  }();
  snapshot_store named(store.dir(), name, 1);
  std::string message;
  constexpr uint64_t kSeq = 5;
  if (flags & 0x80) {
    // A whole file as found on disk.
    snapshot_format::header h;
    std::span<const char> body;
    const auto c = snapshot_format::decode(payload, h, body);
    if (c == snapshot_format::check::ok) {
      FUZZ_REQUIRE(body.data() >= payload.data() &&
                   body.data() + body.size() == payload.data() + payload.size());
      FUZZ_REQUIRE(h.body_length == body.size() && !h.model.empty());
    }
    const std::string path = named.path_of(kSeq).string();
    FILE* f = std::fopen(path.c_str(), "wb");
    FUZZ_REQUIRE(f != nullptr);
    FUZZ_REQUIRE(std::fwrite(payload.data(), 1, payload.size(), f) == payload.size());
    std::fclose(f);
    loaded_snapshot snap;
    const snapshot_status st = named.read(kSeq, snap, message);
    const bool expect_ok = c == snapshot_format::check::ok && h.model == name && h.seq == kSeq;
    FUZZ_REQUIRE((st == snapshot_status::ok) == expect_ok);
    if (st == snapshot_status::ok) {
      FUZZ_REQUIRE(snap.body.size() == body.size() &&
                   std::equal(body.begin(), body.end(), snap.body.begin()));
      load_body(name, snap.body);
    } else {
      FUZZ_REQUIRE(st == snapshot_status::corrupt && !message.empty());
    }
    return 0;
  }
  // A body, stored as the snapshot writer stores it.
  FUZZ_REQUIRE(named.write(kSeq, snapshot_format::event_fingerprint(kSeq, 1), 1, payload,
                           message) == snapshot_status::ok);
  loaded_snapshot snap;
  FUZZ_REQUIRE(named.read(kSeq, snap, message) == snapshot_status::ok);
  FUZZ_REQUIRE(snap.hdr.seq == kSeq && snap.hdr.model == name &&
               snap.hdr.event_fingerprint == snapshot_format::event_fingerprint(kSeq, 1));
  FUZZ_REQUIRE(snap.body.size() == payload.size() &&
               std::equal(payload.begin(), payload.end(), snap.body.begin()));
  load_body(name, snap.body);
  return 0;
}
