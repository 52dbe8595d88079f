// Codec and validator costs per command on the command thread's hot path:
// decode_request + validator.check + encode_event + encode_ok.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include <absl/container/flat_hash_map.h>

#include "core/buffer.h"
#include "core/event.h"
#include "core/incremental_map.h"
#include "core/limits.h"
#include "core/msgpack.h"
#include "core/reply.h"
#include "core/request.h"
#include "core/validator.h"

namespace {

using namespace rill;

void pack_str(msgpack::packer<out_buffer>& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

// {"cmd":"CREATE_ORDER","agg":"order","id":"o-00000000","data":{...},"key":...,"req":n}
// The id is fixed-width so each iteration can write a new one in place.
std::string create_order_request(bool with_key) {
  out_buffer b;
  msgpack::packer<out_buffer> pk(b);
  pk.pack_map(with_key ? 6 : 5);
  pack_str(pk, "cmd");
  pack_str(pk, "CREATE_ORDER");
  pack_str(pk, "agg");
  pack_str(pk, "order");
  pack_str(pk, "id");
  pack_str(pk, "o-00000000");
  pack_str(pk, "data");
  pk.pack_map(3);
  pack_str(pk, "customer_id");
  pack_str(pk, "customer-1");
  pack_str(pk, "amount");
  pk.pack_double(129.95);
  pack_str(pk, "currency");
  pack_str(pk, "USD");
  if (with_key) {
    pack_str(pk, "key");
    pack_str(pk, "k-00000000");
  }
  pack_str(pk, "req");
  pk.pack_uint64(12345);
  return std::string(b.view());
}

void write_counter(char* at, uint64_t n) {
  for (int i = 7; i >= 0; --i, n /= 10) at[i] = static_cast<char>('0' + n % 10);
}

void run_pipeline(benchmark::State& state, bool with_key) {
  validator v(schema::default_schema());
  v.apply("customer", "customer-1", 1, "", 1);
  std::string req = create_order_request(with_key);
  char* id_digits = req.data() + req.find("o-00000000") + 2;
  char* key_digits = with_key ? req.data() + req.find("k-00000000") + 2 : nullptr;
  const limits lim;
  msgpack::zone zone;
  request r;
  std::string message;
  out_buffer event(4096), reply(4096);
  uint64_t seq = 1;
  for (auto _ : state) {
    ++seq;
    write_counter(id_digits, seq);
    if (key_digits != nullptr) write_counter(key_digits, seq);
    zone.clear();
    if (decode_request({req.data(), req.size()}, zone, lim, r, message) != errc::ok) {
      state.SkipWithError(message.c_str());
      break;
    }
    const verdict vd = v.check(r.command, seq);
    if (vd.code != errc::ok) {
      state.SkipWithError(vd.message.c_str());
      break;
    }
    event.clear();
    encode_event(event, event_view{.seq = seq, .ts = 1'700'000'000'000'000'000ull + seq,
                                   .ver = vd.ver, .type = vd.def->event, .agg = r.command.agg,
                                   .id = r.command.id, .key = r.command.key,
                                   .corr = r.command.corr, .data = r.command.data});
    reply.clear();
    encode_ok(reply, vd.seq, vd.ver, vd.dup, r.req);
    v.commit();
    benchmark::DoNotOptimize(event.data());
    benchmark::DoNotOptimize(reply.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["aggregates"] = static_cast<double>(v.aggregate_count());
}

// The whole per-command path for a CREATE_ORDER (new id each time, reference
// check against an existing customer).
void BM_create_order_pipeline(benchmark::State& state) { run_pipeline(state, false); }
BENCHMARK(BM_create_order_pipeline)->Iterations(2'000'000);

// The same with an idempotency key (one more map insert per command).
void BM_create_order_pipeline_with_key(benchmark::State& state) { run_pipeline(state, true); }
BENCHMARK(BM_create_order_pipeline_with_key)->Iterations(2'000'000);

// The whole path for a non-creating command (SET_EXCHANGE_RATE) on one of
// N existing orders, visited in a scattered order: the steady state once
// aggregates exist. Small N shows the compute cost, large N adds the cache
// misses of the index lookups.
void BM_update_pipeline(benchmark::State& state) {
  const uint64_t orders = static_cast<uint64_t>(state.range(0));
  validator v(schema::default_schema());
  std::string id = "o-00000000";
  for (uint64_t i = 0; i < orders; ++i) {
    write_counter(id.data() + 2, i);
    v.apply("order", id, 1, "", i + 1);
  }
  out_buffer b;
  msgpack::packer<out_buffer> pk(b);
  pk.pack_map(5);
  pack_str(pk, "cmd");
  pack_str(pk, "SET_EXCHANGE_RATE");
  pack_str(pk, "agg");
  pack_str(pk, "order");
  pack_str(pk, "id");
  pack_str(pk, "o-00000000");
  pack_str(pk, "data");
  pk.pack_map(2);
  pack_str(pk, "rate");
  pk.pack_double(1.0842);
  pack_str(pk, "base");
  pack_str(pk, "EUR");
  pack_str(pk, "req");
  pk.pack_uint64(7);
  std::string req(b.view());
  char* id_digits = req.data() + req.find("o-00000000") + 2;
  const limits lim;
  msgpack::zone zone;
  request r;
  std::string message;
  out_buffer event(4096), reply(4096);
  uint64_t seq = orders;
  for (auto _ : state) {
    ++seq;
    write_counter(id_digits, (seq * 40503) & (orders - 1));  // orders: a power of 2
    zone.clear();
    if (decode_request({req.data(), req.size()}, zone, lim, r, message) != errc::ok) {
      state.SkipWithError(message.c_str());
      break;
    }
    const verdict vd = v.check(r.command, seq);
    if (vd.code != errc::ok) {
      state.SkipWithError(vd.message.c_str());
      break;
    }
    event.clear();
    encode_event(event, event_view{.seq = seq, .ts = 1'700'000'000'000'000'000ull + seq,
                                   .ver = vd.ver, .type = vd.def->event, .agg = r.command.agg,
                                   .id = r.command.id, .data = r.command.data});
    reply.clear();
    encode_ok(reply, vd.seq, vd.ver, vd.dup, r.req);
    v.commit();
    benchmark::DoNotOptimize(event.data());
    benchmark::DoNotOptimize(reply.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_update_pipeline)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

void BM_decode_request(benchmark::State& state) {
  const std::string req = create_order_request(true);
  const limits lim;
  msgpack::zone zone;
  request r;
  std::string message;
  for (auto _ : state) {
    zone.clear();
    benchmark::DoNotOptimize(decode_request({req.data(), req.size()}, zone, lim, r, message));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(req.size()));
}
BENCHMARK(BM_decode_request);

// check of a non-creating command on an existing aggregate (no insert).
void BM_check_update(benchmark::State& state) {
  validator v(schema::default_schema());
  v.apply("order", "o-1", 1, "", 1);
  out_buffer data;
  msgpack::packer<out_buffer> pk(data);
  pk.pack_map(2);
  pack_str(pk, "rate");
  pk.pack_double(1.08);
  pack_str(pk, "base");
  pack_str(pk, "EUR");
  msgpack::object_handle h = msgpack::unpack(data.data(), data.size());
  command_request c{.cmd = "SET_EXCHANGE_RATE", .agg = "order", .id = "o-1"};
  c.data = &h.get();
  uint64_t seq = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(v.check(c, ++seq).ver);
    v.commit();
  }
}
BENCHMARK(BM_check_update);

std::string sample_event(msgpack::zone& zone, out_buffer& data) {
  msgpack::packer<out_buffer> pk(data);
  pk.pack_map(3);
  pack_str(pk, "customer_id");
  pack_str(pk, "customer-1");
  pack_str(pk, "amount");
  pk.pack_double(129.95);
  pack_str(pk, "currency");
  pack_str(pk, "USD");
  auto* o = static_cast<msgpack::object*>(zone.allocate_align(sizeof(msgpack::object)));
  *o = msgpack::unpack(zone, data.data(), data.size());
  out_buffer out;
  encode_event(out, event_view{.seq = 123456, .ts = 1'700'000'000'000'000'000ull, .ver = 1,
                               .type = "ORDER_CREATED", .agg = "order", .id = "o-00012345",
                               .key = "fx:o-00012345:123", .data = o});
  return std::string(out.view());
}

void BM_encode_event(benchmark::State& state) {
  msgpack::zone zone;
  out_buffer data;
  const std::string body = sample_event(zone, data);
  msgpack::zone z2;
  event_view e;
  if (decode_event({body.data(), body.size()}, z2, e) != errc::ok) std::abort();
  out_buffer out(4096);
  for (auto _ : state) {
    out.clear();
    encode_event(out, e);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_encode_event);

void BM_peek_event(benchmark::State& state) {
  msgpack::zone zone;
  out_buffer data;
  const std::string body = sample_event(zone, data);
  event_head h;
  for (auto _ : state) {
    benchmark::DoNotOptimize(peek_event({body.data(), body.size()}, h));
    benchmark::DoNotOptimize(h.seq);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_peek_event);

void BM_decode_event(benchmark::State& state) {
  msgpack::zone zone;
  out_buffer data;
  const std::string body = sample_event(zone, data);
  msgpack::zone z2;
  event_view e;
  for (auto _ : state) {
    z2.clear();
    benchmark::DoNotOptimize(decode_event({body.data(), body.size()}, z2, e));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_decode_event);

// The aggregate index's growth, alone: N creates into an empty index with
// the index's own key and slot (32 bytes), timing each insert. absl's
// flat_hash_map rehashes the whole table inside the insert that fills it;
// incremental_map (what the validator uses) moves a few entries per insert.
// Reports the slowest insert and how many took over 1 ms; the rate includes
// two clock reads per insert.
template <class Map>
void BM_index_growth(benchmark::State& state) {
  using clock = std::chrono::steady_clock;
  const auto n = static_cast<size_t>(state.range(0));
  int64_t max_ns = 0, over_1ms = 0;
  for (auto _ : state) {
    string_pool pool;
    Map m;
    char id[24];
    for (size_t i = 0; i < n; ++i) {
      const int len = std::snprintf(id, sizeof id, "c-%09zu", i);
      const hashed_view h = hashed(std::string_view(id, static_cast<size_t>(len)));
      const auto t0 = clock::now();
      m.emplace(hashed_key<short_or_pooled>{short_or_pooled(h.s, pool), h.h}, uint64_t{1});
      const int64_t ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - t0).count();
      max_ns = std::max(max_ns, ns);
      over_1ms += ns > 1'000'000;
    }
    benchmark::DoNotOptimize(m.size());
  }
  state.counters["max_insert_ms"] = static_cast<double>(max_ns) / 1e6;
  state.counters["inserts_over_1ms"] = static_cast<double>(over_1ms);
  state.counters["inserts/s"] =
      benchmark::Counter(static_cast<double>(n * state.iterations()), benchmark::Counter::kIsRate);
}
using absl_index =
    absl::flat_hash_map<hashed_key<short_or_pooled>, uint64_t, hashed_key_hash, hashed_key_eq>;
using incremental_index =
    incremental_map<hashed_key<short_or_pooled>, uint64_t, hashed_key_hash, hashed_key_eq>;
BENCHMARK_TEMPLATE(BM_index_growth, absl_index)
    ->Arg(8 << 20)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_index_growth, incremental_index)
    ->Arg(8 << 20)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
