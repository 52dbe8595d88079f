// Writes the seed corpora of the fuzz targets added with it (query_request,
// notify_codec, replay_request, replay_reply, event_decoder, checkpoint,
// saga_replies, snapshot) into <root>/<name>/, using the real encoders and
// models so that the seeds are what the decoders see in production, plus
// hand-made edge cases (among them the inputs of bugs the targets found).
//
//   build-fuzz/bin/gen_fuzz_corpus tests/fuzz/corpus
//
// Running it again rewrites the same files (checkpoints may list their
// entries in another hash-table order).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/event.h"
#include "core/schema.h"
#include "core/validator.h"
#include "readmodels/registry.h"
#include "readmodels/snapshot_format.h"
#include "tests/fuzz/fuzz_util.h"
#include "transport/notifier_codec.h"

namespace {

using namespace rill;
using rill::fuzz::json;
namespace fs = std::filesystem;
namespace nt = rill::transport::notify;

fs::path g_root;

void put(const std::string& target, const std::string& name, std::string_view bytes) {
  const fs::path dir = g_root / target;
  fs::create_directories(dir);
  FILE* f = std::fopen((dir / name).c_str(), "wb");
  if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
  std::fclose(f);
}

std::string mp(const json& j) {
  const std::vector<uint8_t> v = json::to_msgpack(j);
  return std::string(v.begin(), v.end());
}

void query_request() {
  const std::string t = "query_request";
  put(t, "customers_get", mp({{"model", "customers"}, {"q", "get"}, {"args", {{"id", "c1"}}}}));
  put(t, "customers_list",
      mp({{"q", "list"}, {"args", {{"offset", 0}, {"limit", 10}}}, {"req", 7}}));
  put(t, "top", mp({{"q", "top"}, {"args", {{"n", 3}}}}));
  put(t, "orders_get_int_id", mp({{"q", "get"}, {"args", {{"id", 1}}}}));
  put(t, "by_customer",
      mp({{"q", "by_customer"}, {"args", {{"customer_id", "c1"}, {"limit", "5"}}}}));
  put(t, "rating_after",
      mp({{"q", "rating"}, {"args", {{"id", "c1"}}}, {"after", 3}, {"timeout_ms", 10}}));
  put(t, "segment", mp({{"q", "segment"}, {"args", {{"classification", "A"}}}}));
  put(t, "pending_nil_args", mp({{"q", "pending"}, {"args", nullptr}}));
  put(t, "status", mp({{"q", "status"}, {"req", {{"any", {1, 2}}}}}));
  put(t, "huge_timeout", mp({{"q", "get"}, {"after", 1}, {"timeout_ms", 1ull << 63}}));
  put(t, "unknown_field", mp({{"q", "get"}, {"qq", 1}}));
  put(t, "unknown_arg", mp({{"q", "list"}, {"args", {{"limt", 1}}}}));
  put(t, "args_not_map", mp({{"q", "get"}, {"args", {1, 2}}}));
  put(t, "empty_q", mp({{"q", ""}}));
  put(t, "not_a_map", mp(json::array({"q", "get"})));
  // Duplicate field (json cannot hold one): {"q":"get","q":"list"}.
  put(t, "duplicate_field", std::string("\x82\xa1q\xa3get\xa1q\xa4list", 13));
  put(t, "truncated", mp({{"q", "get"}, {"args", {{"id", "c1"}}}}).substr(0, 9));
  put(t, "bad_utf8_query", std::string("\x81\xa1q\xa2\xc3\x28", 6));
  // Found by this target: a quoted name cut inside a character (fixed).
  const std::string cut = std::string(63, 'x') + "\xc3\xa9";
  put(t, "utf8_cut_field", mp({{"q", "get"}, {cut, 1}}));
  put(t, "utf8_cut_arg", mp({{"q", "list"}, {"args", {{cut, 1}}}}));
}

void notify_codec() {
  const std::string t = "notify_codec";
  out_buffer b;
  auto emit = [&](const std::string& name) {
    put(t, name, b.view());
    b.clear();
  };
  nt::encode_request(b, nt::op::watch, "orders", "o1", 1);
  emit("watch_key");
  nt::encode_request(b, nt::op::watch, "customers", std::nullopt, 2);
  emit("watch_model");
  nt::encode_request(b, nt::op::unwatch, "orders", "o1", 3);
  emit("unwatch");
  nt::encode_request(b, nt::op::ping, std::nullopt, std::nullopt, 4);
  emit("ping");
  nt::encode_request(b, nt::op::status, std::nullopt, std::nullopt, 5);
  emit("status");
  const std::string_view keys[] = {"o1", "o2", "o3"};
  nt::encode_report(b, "orders", keys, 17);
  emit("report_keys");
  const uint64_t seqs[] = {12, 17, 15};
  nt::encode_report(b, "orders", keys, 17, seqs);
  emit("report_seqs");
  nt::encode_report(b, "orders", {}, 18);
  emit("report_whole");
  nt::encode_note(b, "orders", "o1", 17);
  emit("note_key");
  nt::encode_note(b, "orders", std::nullopt, 18);
  emit("note_whole");
  nt::encode_ok_reply(b, "watch", true, {{"expiry_ms", uint64_t{30000}}}, std::string_view("\x07"));
  emit("reply_ok");
  nt::encode_error_reply(b, errc::bad_request, "unknown op 'x'", false, 30000, {});
  emit("reply_error");
  put(t, "watch_nil_key", mp({{"op", "watch"}, {"model", "orders"}, {"key", nullptr}}));
  put(t, "watch_typo", mp({{"op", "watch"}, {"model", "orders"}, {"kye", "o1"}}));
  put(t, "watch_no_model", mp({{"op", "watch"}}));
  put(t, "op_not_string", mp({{"op", 1}}));
  put(t, "report_extra_field",
      mp({{"model", "orders"}, {"keys", {"a"}}, {"seq", 3}, {"by", "proj"}}));
  put(t, "report_many_keys",
      mp({{"model", "m"},
          {"keys", json::array({"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13",
                                "14", "15", "16", "17"})},
          {"seq", 1}}));
  put(t, "report_empty_key", mp({{"model", "m"}, {"keys", {""}}, {"seq", 1}}));
  put(t, "model_with_nul", mp({{"op", "watch"}, {"model", std::string("a\0b", 3)}}));
  put(t, "int_field_name", std::string("\x81\x01\xa4ping", 7));
  // Found by this target: a quoted name cut inside a character (fixed).
  const std::string cut = std::string(63, 'x') + "\xc3\xa9";
  put(t, "utf8_cut_field", mp({{"op", "ping"}, {cut, 1}}));
  put(t, "utf8_cut_op", mp({{"op", cut}}));
  put(t, "not_a_map", mp("watch"));
}

void replay_request() {
  const std::string t = "replay_request";
  put(t, "range", mp({{"from", 1}, {"max", 100}}));
  put(t, "range_req", mp({{"from", 5}, {"max", 0}, {"req", 9}}));
  put(t, "range_from_zero", mp({{"from", 0}}));
  put(t, "range_huge_max", mp({{"from", 1}, {"max", 1ull << 40}}));
  put(t, "range_nil_max", mp({{"from", 1}, {"max", nullptr}}));
  put(t, "aggregate", mp({{"agg", "order"}, {"id", "o1"}, {"from_ver", 2}, {"req", "r"}}));
  put(t, "aggregate_no_id", mp({{"agg", "order"}}));
  put(t, "aggregate_int_id", mp({{"agg", "order"}, {"id", 1}}));
  put(t, "ping", mp({{"op", "ping"}, {"req", 1}}));
  put(t, "bad_op", mp({{"op", "pong"}}));
  put(t, "from_string", mp({{"from", "1"}}));
  put(t, "from_negative", mp({{"from", -1}}));
  put(t, "not_a_map", mp(json::array({1, 2})));
  put(t, "deep", std::string(70, '\x91') + "\x01");
  put(t, "truncated", mp({{"from", 1}, {"max", 100}}).substr(0, 6));
  put(t, "trailing", mp({{"from", 1}}) + "\xc0");
}

std::string event_body(uint64_t seq, std::string_view type, std::string_view agg,
                       std::string_view id, uint64_t ver, const json& data,
                       std::string_view key = {}) {
  const std::string d = mp(data);
  msgpack::object_handle oh = msgpack::unpack(d.data(), d.size());
  out_buffer out;
  encode_event(out, event_view{.seq = seq,
                               .ts = 1'700'000'000'000'000'000ull + seq,
                               .ver = ver,
                               .type = type,
                               .agg = agg,
                               .id = id,
                               .key = key,
                               .corr = {},
                               .data = &oh.get()});
  return std::string(out.view());
}

// {"ok":true,"events":[bodies...],"head":head,"req":req}
std::string reply(const std::vector<std::string>& bodies, uint64_t head, uint64_t req) {
  out_buffer out;
  msgpack::packer<out_buffer> pk(out);
  pk.pack_map(4);
  pk.pack("ok");
  pk.pack(true);
  pk.pack("events");
  pk.pack_array(static_cast<uint32_t>(bodies.size()));
  for (const auto& b : bodies) out.write(b.data(), b.size());
  pk.pack("head");
  pk.pack(head);
  pk.pack("req");
  pk.pack(req);
  return std::string(out.view());
}

void replay_reply() {
  const std::string t = "replay_reply";
  const std::string e1 = event_body(1, "CUSTOMER_CREATED", "customer", "c1", 1,
                                    {{"name", "Ada"}, {"email", "ada@example.com"}}, "k1");
  const std::string e2 = event_body(2, "ORDER_CREATED", "order", "o1", 1,
                                    {{"customer_id", "c1"}, {"amount", 120}, {"currency", "USD"}});
  const std::string e3 =
      event_body(3, "EXCHANGE_RATE_SET", "order", "o1", 2, {{"rate", 0.9}, {"base", "EUR"}});
  put(t, "page", reply({e1, e2, e3}, 3, 1));
  put(t, "page_head_ahead", reply({e1, e2}, 1000, 1));
  put(t, "empty_page", reply({}, 0, 1));
  put(t, "stale", reply({e1}, 1, 2));
  put(t, "not_dense", reply({e1, e3}, 3, 1));
  put(t, "wrong_start", reply({e2}, 3, 1));
  put(t, "truncated", reply({e1, e2}, 2, 1).substr(0, 60));
  put(t, "error", mp({{"ok", false}, {"error", "unavailable"}, {"message", "x"}, {"req", 1}}));
  put(t, "no_ok", mp({{"events", json::array()}, {"head", 1}}));
  put(t, "events_not_array", mp({{"ok", true}, {"events", 1}}));
  put(t, "event_not_event", mp({{"ok", true}, {"events", {{{"seq", 1}}}}}));
  // Found by this target: a huge count made the parser reserve ~100 GB (fixed).
  put(t, "huge_count",
      std::string("\x82\xa2ok\xc3\xa6"
                  "events\xdd\xff\xff\xff\xff",
                  17));
  put(t, "not_a_map", mp(json::array({true})));
}

void event_decoder() {
  const std::string t = "event_decoder";
  const auto& log = rill::fuzz::domain_log();
  for (size_t i = 0; i < log.size(); ++i) {
    out_buffer out;
    encode_event(out, log[i]);
    put(t, "domain_" + std::to_string(i + 1), out.view());
  }
  put(t, "key_and_corr",
      event_body(9, "ORDER_CREATED", "order", "o9", 1,
                 {{"customer_id", "c1"}, {"amount", -3}, {"currency", "usd"}}, "idem-1"));
  // Field order other than rill-core's: the slow path.
  put(t, "reordered",
      mp({{"type", "CUSTOMER_CREATED"},
          {"seq", 1},
          {"ts", 1},
          {"agg", "customer"},
          {"id", "c1"},
          {"ver", 1},
          {"data", {{"name", "A"}, {"email", "a@b"}}}}));
  put(t, "wrong_types",
      event_body(10, "ORDER_CREATED", "order", "o1", 1,
                 {{"customer_id", 5}, {"amount", "x"}, {"currency", nullptr}}));
  put(t, "unknown_type", event_body(11, "SOMETHING", "thing", "t1", 1, json::object()));
  put(t, "nested_data",
      event_body(12, "EMAIL_CAMPAIGN_STARTED", "campaign", "k2", 1,
                 {{"segment", {1, {2, {3}}}}, {"subject", 1.5}, {"body", {{"a", "b"}}}}));
  const std::string e =
      event_body(13, "CUSTOMER_CREATED", "customer", "c3", 1, {{"name", "C"}, {"email", "c@d"}});
  put(t, "trailing_byte", e + "\xc0");
  put(t, "truncated", e.substr(0, e.size() - 2));
}

void saga_replies() {
  const std::string t = "saga_replies";
  put(t, "command_ok", mp({{"ok", true}, {"seq", 5}, {"ver", 1}, {"dup", false}, {"req", 3}}));
  put(t, "command_dup", mp({{"ok", true}, {"seq", 5}, {"ver", 1}, {"dup", true}, {"req", 4}}));
  put(t, "command_overloaded",
      mp({{"ok", false}, {"error", "overloaded"}, {"message", "busy"}, {"req", 5}}));
  put(t, "command_conflict",
      mp({{"ok", false}, {"error", "conflict"}, {"message", std::string(600, 'm')}, {"req", 6}}));
  put(t, "command_no_req", mp({{"ok", true}, {"seq", 1}}));
  put(t, "command_req_string", mp({{"ok", true}, {"req", "7"}}));
  put(t, "rate_ok", mp({{"ok", true}, {"rate", 1.1}, {"currency", "USD"}, {"base", "EUR"}}));
  put(t, "rate_lower_case", mp({{"ok", true}, {"rate", 2}, {"currency", "usd"}}));
  put(t, "rate_other_currency", mp({{"ok", true}, {"rate", 2}, {"currency", "GBP"}}));
  put(t, "rate_negative", mp({{"ok", true}, {"rate", -1.5}, {"currency", "USD"}}));
  put(t, "rate_not_found",
      mp({{"ok", false}, {"error", "not_found"}, {"message", "no rate for USD"}}));
  put(t, "rate_unavailable", mp({{"ok", false}, {"error", "unavailable"}}));
  // NaN as a float64: json cannot write one.
  put(t, "rate_nan",
      std::string("\x83\xa2ok\xc3\xa4rate\xcb\x7f\xf8\0\0\0\0\0\0"
                  "\xa8\x63urrency\xa3USD",
                  32));
  put(t, "not_a_map", mp(json::array({true, 1.0})));
}

void checkpoint() {
  const std::string t = "checkpoint";
  auto emit = [&](const std::string& name, const validator& v, uint64_t seq, char flags) {
    out_buffer out;
    v.serialize(out, seq);
    put(t, name, std::string(1, flags) + std::string(out.view()));
  };
  validator empty(schema::default_schema());
  emit("empty", empty, 0, 0);
  validator v(schema::default_schema());
  v.apply("customer", "c1", 1, "k1", 1);
  v.apply("customer", "c2", 1, "", 2);
  v.apply("order", "o1", 1, "k2", 3);
  v.apply("order", "o1", 2, "k3", 4);
  v.apply("campaign", "k1", 1, "", 5);
  emit("filled", v, 5, 0);
  emit("filled_fixup", v, 5, 1);
  out_buffer out;
  v.serialize(out, 5);
  std::string bad(out.view());
  bad[30] = 1;  // reserved field
  put(t, "reserved_fixup", "\x01" + bad);
  bad = std::string(out.view());
  bad[bad.size() - 1] ^= 1;
  put(t, "bad_checksum", std::string(1, '\0') + bad);
  put(t, "truncated_fixup", "\x01" + std::string(out.view()).substr(0, 50));
}

std::string file_of(const std::string& model, uint64_t seq, const std::string& body) {
  readmodels::snapshot_format::header h;
  h.seq = seq;
  h.body_length = body.size();
  h.body_checksum = readmodels::snapshot_format::checksum({body.data(), body.size()});
  h.event_fingerprint = readmodels::snapshot_format::event_fingerprint(seq, 1);
  h.created_ns = 1;
  h.model = model;
  std::string out;
  readmodels::snapshot_format::encode_prefix(h, out);
  return out + body;
}

void snapshot() {
  const std::string t = "snapshot";
  const auto names = readmodels::model_names();
  const auto filled = rill::fuzz::filled_models();
  for (size_t i = 0; i < names.size(); ++i) {
    out_buffer b;
    filled[i]->save(b);
    const std::string body(b.view());
    b.clear();
    rill::fuzz::make_model(names[i])->save(b);
    const std::string empty(b.view());
    put(t, names[i] + "_body", std::string(1, static_cast<char>(i)) + body);
    put(t, names[i] + "_empty_body", std::string(1, static_cast<char>(i)) + empty);
    put(t, names[i] + "_file",
        std::string(1, static_cast<char>(0x80 | i)) + file_of(names[i], 5, body));
    if (i == 0) {
      // Edge cases of the file format, for the customers model.
      const std::string f = file_of(names[i], 5, body);
      const char fl = static_cast<char>(0x80);
      put(t, "file_wrong_seq", fl + file_of(names[i], 6, body));
      put(t, "file_other_model", fl + file_of(names[1], 5, body));
      put(t, "file_truncated", fl + f.substr(0, f.size() - 3));
      put(t, "file_trailing", fl + f + "x");
      put(t, "file_short_header", fl + f.substr(0, 40));
      std::string bad = f;
      bad[70] ^= 1;  // inside the name: header checksum
      put(t, "file_bad_checksum", fl + bad);
      bad = f;
      bad[bad.size() - 1] ^= 1;
      put(t, "file_bad_body", fl + bad);
      put(t, "body_other_model", std::string(1, '\x01') + body);
      put(t, "body_truncated", std::string(1, '\0') + body.substr(0, body.size() / 2));
      put(t, "body_trailing", std::string(1, '\0') + body + "\xc0");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus root, e.g. tests/fuzz/corpus>\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  query_request();
  notify_codec();
  replay_request();
  replay_reply();
  event_decoder();
  checkpoint();
  saga_replies();
  snapshot();
  return 0;
}
