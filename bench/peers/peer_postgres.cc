// peer_postgres: the peer-load rows against PostgreSQL through libpq, on a
// TCP connection, or a unix socket when --host is a directory (libpq's rule). Events go to a fresh table per row,
//   peer_<row> (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload bytea)
// as binary bytea parameters of prepared statements, autocommit (one
// transaction per statement).
//
// one: one single-row INSERT per transaction. pipelined / durable: one
// --batch-row INSERT ... VALUES ($1),...,($N) per transaction. Every row sets
// synchronous_commit off for the session except durable (on); fsync is on.
// latency: the producer sends, in libpq pipeline mode (non-blocking, a sync
// after each statement, so one transaction each) at the intended times,
//   WITH i AS (INSERT ... RETURNING seq) SELECT pg_notify('peer_ev', $2) FROM i
// with $2 the intended send time; a second connection on its own thread
// LISTENs and records now - that time when the notification arrives (at
// commit). The listener does not SELECT the row. catchup: COPY (untimed),
// VACUUM ANALYZE, then SELECT seq, payload WHERE seq >= $1 AND seq < $2
// ORDER BY seq pages in binary format.
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/peers/peer_common.h"

namespace rill::peers {

namespace {

constexpr unsigned bytea_oid = 17, text_oid = 25;

struct conn_free {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_free>;
struct result_free {
  void operator()(PGresult* r) const { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, result_free>;

[[noreturn]] void fail(PGconn* c, const std::string& what) {
  throw std::runtime_error("postgres: " + what + ": " + PQerrorMessage(c));
}

conn_ptr connect(const peer_options& o) {
  const std::string info = "host=" + o.host + " port=" + std::to_string(o.port) + " dbname=" + o.dbname +
                           " user=" + o.user + " sslmode=disable gssencmode=disable";
  conn_ptr c(PQconnectdb(info.c_str()));
  if (!c || PQstatus(c.get()) != CONNECTION_OK) fail(c.get(), "connect");
  return c;
}

result_ptr exec(PGconn* c, const std::string& sql) {
  result_ptr r(PQexec(c, sql.c_str()));
  const auto s = PQresultStatus(r.get());
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) fail(c, sql);
  return r;
}

std::string show(PGconn* c, const char* name) {
  return PQgetvalue(exec(c, std::string("SHOW ") + name).get(), 0, 0);
}

void prepare(PGconn* c, const char* name, const std::string& sql, int n, const unsigned* types) {
  std::vector<Oid> t(types, types + n);
  result_ptr r(PQprepare(c, name, sql.c_str(), n, t.data()));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) fail(c, "prepare " + sql);
}

std::string insert_sql(const std::string& table, uint32_t rows) {
  std::string sql = "INSERT INTO " + table + " (payload) VALUES ";
  for (uint32_t i = 1; i <= rows; ++i) sql += (i > 1 ? ",($" : "($") + std::to_string(i) + ")";
  return sql;
}

// Appends `n` events per transaction until the deadline.
void row_insert(PGconn* c, const peer_options& o, const std::string& table, uint32_t n, peer_result& r) {
  std::vector<unsigned> types(n, bytea_oid);
  prepare(c, "ins", insert_sql(table, n), static_cast<int>(n), types.data());
  std::vector<event_payload> payloads(n);
  std::vector<const char*> values(n);
  std::vector<int> lengths(n), formats(n, 1);
  const int64_t start = mono_ns(), deadline = start + static_cast<int64_t>(o.duration_s * 1e9);
  int64_t now = start;
  while (now < deadline) {
    for (uint32_t i = 0; i < n; ++i) {
      payloads[i].set(r.events + i, 0);
      values[i] = payloads[i].bytes().data();
      lengths[i] = static_cast<int>(payloads[i].bytes().size());
    }
    result_ptr res(PQexecPrepared(c, "ins", static_cast<int>(n), values.data(), lengths.data(),
                                  formats.data(), 0));
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) fail(c, "insert");
    const int64_t t = mono_ns();
    r.latency.record(static_cast<uint64_t>(t - now));
    now = t;
    r.events += n;
  }
  r.elapsed_s = static_cast<double>(now - start) / 1e9;
}

void listener(const peer_options& o, std::atomic<bool>& ready, std::atomic<bool>& stop,
              std::atomic<uint64_t>& received, peer_result& r) {
  auto c = connect(o);
  exec(c.get(), "LISTEN peer_ev");
  ready = true;
  pollfd pfd{PQsocket(c.get()), POLLIN, 0};
  while (!stop.load()) {
    if (::poll(&pfd, 1, 100) <= 0) continue;
    if (!PQconsumeInput(c.get())) fail(c.get(), "listen");
    const int64_t now = mono_ns();
    while (PGnotify* n = PQnotifies(c.get())) {
      const int64_t ts = std::strtoll(n->extra, nullptr, 10);
      r.latency.record(static_cast<uint64_t>(std::max<int64_t>(0, now - ts)));
      PQfreemem(n);
      ++received;
    }
  }
}

void row_latency(PGconn* c, const peer_options& o, const std::string& table, peer_result& r) {
  const unsigned types[] = {bytea_oid, text_oid};
  prepare(c, "lat",
          "WITH i AS (INSERT INTO " + table +
              " (payload) VALUES ($1) RETURNING seq) SELECT pg_notify('peer_ev', $2) FROM i",
          2, types);
  std::atomic<bool> ready{false}, stop{false};
  std::atomic<uint64_t> received{0};
  std::string sub_error;
  std::thread sub([&] {
    try {
      listener(o, ready, stop, received, r);
    } catch (const std::exception& e) {
      sub_error = e.what();
      ready = true;
    }
  });
  while (!ready.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (PQsetnonblocking(c, 1) != 0 || PQenterPipelineMode(c) != 1) fail(c, "pipeline mode");
  event_payload p;
  const double interval = 1e9 / o.rate;
  uint64_t sent = 0, pending = 0;
  precise_timer_slack();
  pollfd pfd{PQsocket(c), POLLIN, 0};
  auto drain = [&](int wait_ms) {
    if (PQflush(c) < 0) fail(c, "flush");
    if (::poll(&pfd, 1, wait_ms) > 0 && !PQconsumeInput(c)) fail(c, "consume");
    int nulls = 0;
    while (pending > 0 && !PQisBusy(c)) {
      result_ptr res(PQgetResult(c));
      if (!res) {
        if (++nulls > 1) break;
        continue;
      }
      nulls = 0;
      const auto s = PQresultStatus(res.get());
      if (s == PGRES_PIPELINE_SYNC) --pending;
      else if (s != PGRES_TUPLES_OK) ++r.failed;
    }
  };
  const int64_t start = mono_ns(), deadline = start + static_cast<int64_t>(o.duration_s * 1e9);
  for (;;) {
    const int64_t intended = start + static_cast<int64_t>(static_cast<double>(sent) * interval);
    if (intended >= deadline) break;
    for (int64_t now = mono_ns(); now < intended; now = mono_ns()) {
      drain(0);
      wait_readable_until(PQsocket(c), intended);
    }
    p.set(sent, static_cast<uint64_t>(intended));
    const std::string stamp = std::to_string(intended);
    const char* values[] = {p.bytes().data(), stamp.c_str()};
    const int lengths[] = {static_cast<int>(p.bytes().size()), 0};
    const int formats[] = {1, 0};
    if (!PQsendQueryPrepared(c, "lat", 2, values, lengths, formats, 0) || !PQpipelineSync(c))
      fail(c, "send");
    ++sent;
    ++pending;
    drain(0);
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pending > 0 && std::chrono::steady_clock::now() < until) drain(10);
  r.elapsed_s = static_cast<double>(mono_ns() - start) / 1e9;
  while (std::chrono::steady_clock::now() < until && received.load() < sent)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop = true;
  sub.join();
  if (!sub_error.empty()) throw std::runtime_error(sub_error);
  r.events = received.load();
  r.notes["sent"] = sent;
  r.notes["received"] = r.events;
  r.notes["subscriber"] = "LISTEN on its own connection and thread (notification only, no SELECT)";
  r.notes["producer"] = "libpq pipeline mode, one INSERT + pg_notify transaction per event";
  r.notes["latency_from"] = "intended send time (open loop)";
}

void fill(PGconn* c, const std::string& table, uint64_t events) {
  {
    result_ptr copy(PQexec(c, ("COPY " + table + " (payload) FROM STDIN").c_str()));
    if (PQresultStatus(copy.get()) != PGRES_COPY_IN) fail(c, "copy");
  }
  event_payload p;
  std::string chunk;
  static const char hex[] = "0123456789abcdef";
  for (uint64_t n = 0; n < events; ++n) {
    p.set(n, n);
    chunk += "\\\\x";
    for (const char ch : p.bytes()) {
      chunk += hex[static_cast<uint8_t>(ch) >> 4];
      chunk += hex[static_cast<uint8_t>(ch) & 15];
    }
    chunk += '\n';
    if (chunk.size() > (1 << 16) || n + 1 == events) {
      if (PQputCopyData(c, chunk.data(), static_cast<int>(chunk.size())) != 1) fail(c, "copy");
      chunk.clear();
    }
  }
  if (PQputCopyEnd(c, nullptr) != 1) fail(c, "copy end");
  result_ptr r(PQgetResult(c));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) fail(c, "copy");
  while (result_ptr more{PQgetResult(c)}) {}
  exec(c, "VACUUM ANALYZE " + table);
}

void row_catchup(PGconn* c, const peer_options& o, const std::string& table, peer_result& r) {
  fill(c, table, o.events);
  const unsigned types[] = {20, 20};  // int8
  prepare(c, "page", "SELECT seq, payload FROM " + table + " WHERE seq >= $1 AND seq < $2 ORDER BY seq", 2,
          types);
  const uint64_t max_seq = std::stoull(PQgetvalue(exec(c, "SELECT max(seq) FROM " + table).get(), 0, 0));
  nlohmann::json passes = nlohmann::json::array();
  for (uint32_t pass = 0; pass < o.passes; ++pass) {
    r.latency = latency_histogram();
    uint64_t seen = 0, bytes = 0;
    const int64_t start = mono_ns();
    for (uint64_t lo = 1; lo <= max_seq; lo += o.page) {
      const std::string a = std::to_string(lo), b = std::to_string(lo + o.page);
      const char* values[] = {a.c_str(), b.c_str()};
      const int64_t t0 = mono_ns();
      result_ptr res(PQexecPrepared(c, "page", 2, values, nullptr, nullptr, 1));
      if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) fail(c, "select page");
      r.latency.record(static_cast<uint64_t>(mono_ns() - t0));
      const int rows = PQntuples(res.get());
      for (int i = 0; i < rows; ++i) bytes += static_cast<uint64_t>(PQgetlength(res.get(), i, 1));
      seen += static_cast<uint64_t>(rows);
    }
    r.elapsed_s = static_cast<double>(mono_ns() - start) / 1e9;
    r.events = seen;
    if (seen != o.events) throw std::runtime_error("postgres: catch-up read " + std::to_string(seen) + " events");
    passes.push_back({{"s", r.elapsed_s}, {"events", seen}, {"bytes", bytes}});
  }
  r.notes["passes"] = passes;
  r.notes["reported"] = "last pass (warm); latency_us is per page; table filled by COPY, then VACUUM ANALYZE";
}

}  // namespace

peer_result run_postgres(const peer_options& o) {
  peer_result r;
  auto conn = connect(o);
  PGconn* c = conn.get();
  const std::string table = "peer_" + o.row;
  exec(c, "SET client_min_messages = warning");
  exec(c, "DROP TABLE IF EXISTS " + table);
  exec(c, "CREATE TABLE " + table +
              " (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload bytea NOT NULL)");
  exec(c, std::string("SET synchronous_commit = ") + (o.row == "durable" ? "on" : "off"));
  r.notes["version"] = show(c, "server_version");
  r.notes["synchronous_commit"] = show(c, "synchronous_commit");
  r.notes["fsync"] = show(c, "fsync");
  r.notes["wal_sync_method"] = show(c, "wal_sync_method");
  r.notes["transport"] = (o.host.starts_with('/') ? "unix " : "tcp ") + o.host;
  if (o.row == "one") row_insert(c, o, table, 1, r);
  else if (o.row == "pipelined" || o.row == "durable") row_insert(c, o, table, o.batch, r);
  else if (o.row == "latency") row_latency(c, o, table, r);
  else row_catchup(c, o, table, r);
  if (o.row == "latency") conn = connect(o);  // the pipelined connection is left in pipeline mode
  exec(conn.get(), "DROP TABLE IF EXISTS " + table);
  return r;
}

}  // namespace rill::peers
