// peer_redis: the peer-load rows against Redis Streams, through hiredis'
// synchronous API on TCP connections (TCP_NODELAY, set by hiredis), or on a
// unix socket when --host is a path.
//
// Every row appends with XADD <key> * e <payload> to a fresh stream (DEL
// first, DEL again at the end). one: each XADD waits for its reply.
// pipelined / durable: --batch XADDs written at once, then their replies
// read. durable first sets appendonly yes + appendfsync always and waits for
// the AOF rewrite that starts; the others set appendonly no. latency: the
// producer writes XADDs at the intended times without waiting for replies
// (read when they arrive); a second connection on its own thread reads with
// XREAD BLOCK (COUNT 1000) and records now - the intended send time carried
// in the payload. catchup: XRANGE pages, "(" + last id as the next start.
#include <hiredis/hiredis.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "bench/peers/peer_common.h"

namespace rill::peers {

namespace {

struct reply_free {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_free>;
struct context_free {
  void operator()(redisContext* c) const { redisFree(c); }
};
using context_ptr = std::unique_ptr<redisContext, context_free>;

context_ptr connect(const peer_options& o) {
  context_ptr c(o.host.starts_with('/') ? redisConnectUnix(o.host.c_str())
                                        : redisConnect(o.host.c_str(), o.port));
  if (!c || c->err)
    throw std::runtime_error("redis connect: " + std::string(c ? c->errstr : "out of memory"));
  return c;
}

reply_ptr command(redisContext* c, const char* fmt, const std::string& arg = {}) {
  auto* r = static_cast<redisReply*>(arg.empty() ? redisCommand(c, fmt) : redisCommand(c, fmt, arg.c_str()));
  if (r == nullptr) throw std::runtime_error(std::string("redis: ") + c->errstr);
  reply_ptr p(r);
  if (r->type == REDIS_REPLY_ERROR) throw std::runtime_error(std::string("redis: ") + r->str);
  return p;
}

reply_ptr get_reply(redisContext* c) {
  void* r = nullptr;
  if (redisGetReply(c, &r) != REDIS_OK || r == nullptr)
    throw std::runtime_error(std::string("redis: ") + c->errstr);
  return reply_ptr(static_cast<redisReply*>(r));
}

void append_xadd(redisContext* c, const std::string& key, const std::string& payload) {
  const char* argv[] = {"XADD", key.data(), "*", "e", payload.data()};
  const size_t len[] = {4, key.size(), 1, 1, payload.size()};
  if (redisAppendCommandArgv(c, 5, argv, len) != REDIS_OK)
    throw std::runtime_error(std::string("redis: ") + c->errstr);
}

std::string config_get(redisContext* c, const std::string& name) {
  auto r = command(c, "CONFIG GET %s", name);
  return r->type == REDIS_REPLY_ARRAY && r->elements == 2 ? r->element[1]->str : "?";
}

// appendonly + appendfsync always for the durable row, appendonly no else.
void set_persistence(redisContext* c, bool durable, nlohmann::json& notes) {
  if (durable) {
    command(c, "CONFIG SET appendfsync always");
    if (config_get(c, "appendonly") != "yes") command(c, "CONFIG SET appendonly yes");
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {  // enabling AOF at run time starts a rewrite; wait for it
      const std::string info = command(c, "INFO persistence")->str;
      if (info.find("aof_enabled:1") != std::string::npos &&
          info.find("aof_rewrite_in_progress:0") != std::string::npos &&
          info.find("aof_rewrite_scheduled:0") != std::string::npos)
        break;
      if (std::chrono::steady_clock::now() > until) throw std::runtime_error("redis: AOF rewrite did not end");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  } else {
    command(c, "CONFIG SET appendonly no");
  }
  notes["appendonly"] = config_get(c, "appendonly");
  notes["appendfsync"] = config_get(c, "appendfsync");
  notes["version"] = [&] {
    const std::string info = command(c, "INFO server")->str;
    const auto at = info.find("redis_version:");
    return at == std::string::npos ? std::string("?") : info.substr(at + 14, info.find('\r', at) - at - 14);
  }();
}

void row_one(redisContext* c, const peer_options& o, const std::string& key, peer_result& r) {
  event_payload p;
  const int64_t start = mono_ns(), deadline = start + static_cast<int64_t>(o.duration_s * 1e9);
  int64_t now = start;
  while (now < deadline) {
    p.set(r.events, 0);
    append_xadd(c, key, p.bytes());
    auto rep = get_reply(c);
    if (rep->type != REDIS_REPLY_STRING) ++r.failed;
    const int64_t t = mono_ns();
    r.latency.record(static_cast<uint64_t>(t - now));
    now = t;
    ++r.events;
  }
  r.elapsed_s = static_cast<double>(now - start) / 1e9;
}

void row_pipelined(redisContext* c, const peer_options& o, const std::string& key, peer_result& r) {
  event_payload p;
  const int64_t start = mono_ns(), deadline = start + static_cast<int64_t>(o.duration_s * 1e9);
  int64_t now = start;
  while (now < deadline) {
    for (uint32_t i = 0; i < o.batch; ++i) {
      p.set(r.events + i, 0);
      append_xadd(c, key, p.bytes());
    }
    for (uint32_t i = 0; i < o.batch; ++i)
      if (get_reply(c)->type != REDIS_REPLY_STRING) ++r.failed;
    const int64_t t = mono_ns();
    r.latency.record(static_cast<uint64_t>(t - now));
    now = t;
    r.events += o.batch;
  }
  r.elapsed_s = static_cast<double>(now - start) / 1e9;
}

// Reads XREAD replies until `expected` (once set) entries arrived or `stop`.
void subscriber(const peer_options& o, const std::string& key, std::atomic<uint64_t>& expected,
                std::atomic<bool>& stop, std::atomic<uint64_t>& received, peer_result& r) {
  auto c = connect(o);
  std::string last = "0-0";
  while (!stop.load() && received < expected.load()) {
    auto* raw = static_cast<redisReply*>(
        redisCommand(c.get(), "XREAD COUNT 1000 BLOCK 100 STREAMS %s %s", key.c_str(), last.c_str()));
    if (raw == nullptr) throw std::runtime_error(std::string("redis: ") + c->errstr);
    reply_ptr rep(raw);
    const int64_t now = mono_ns();
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1) continue;  // timeout: nil
    const redisReply* stream = rep->element[0];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2 ||
        stream->element[1]->type != REDIS_REPLY_ARRAY)
      throw std::runtime_error("redis: unexpected XREAD reply");
    const redisReply* entries = stream->element[1];
    for (size_t i = 0; i < entries->elements; ++i) {
      const redisReply* e = entries->element[i];
      if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING ||
          e->element[1]->type != REDIS_REPLY_ARRAY)
        throw std::runtime_error("redis: unexpected XREAD entry");
      const redisReply* fields = e->element[1];
      if (fields->elements >= 2 && fields->element[1]->type == REDIS_REPLY_STRING) {
        const uint64_t ts = event_payload::read_ts(fields->element[1]->str, fields->element[1]->len);
        r.latency.record(static_cast<uint64_t>(std::max<int64_t>(0, now - static_cast<int64_t>(ts))));
      }
      ++received;
      if (i + 1 == entries->elements) last = e->element[0]->str;
    }
  }
  r.events = received.load();
}

void row_latency(redisContext* c, const peer_options& o, const std::string& key, peer_result& r) {
  std::atomic<uint64_t> expected{UINT64_MAX};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> received{0};
  std::string sub_error;
  std::thread sub([&] {
    try {
      subscriber(o, key, expected, stop, received, r);
    } catch (const std::exception& e) {
      sub_error = e.what();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // XREAD is blocking by then
  event_payload p;
  const double interval = 1e9 / o.rate;
  const int64_t start = mono_ns(), deadline = start + static_cast<int64_t>(o.duration_s * 1e9);
  uint64_t sent = 0, acked = 0;
  precise_timer_slack();
  pollfd pfd{c->fd, POLLIN, 0};
  auto read_ready = [&] {
    while (::poll(&pfd, 1, 0) > 0) {
      if (redisBufferRead(c) != REDIS_OK) throw std::runtime_error(std::string("redis: ") + c->errstr);
      void* rep = nullptr;
      while (redisGetReplyFromReader(c, &rep) == REDIS_OK && rep != nullptr) {
        if (static_cast<redisReply*>(rep)->type != REDIS_REPLY_STRING) ++r.failed;
        freeReplyObject(rep);
        ++acked;
      }
    }
  };
  for (;;) {
    const int64_t intended = start + static_cast<int64_t>(static_cast<double>(sent) * interval);
    if (intended >= deadline) break;
    for (int64_t now = mono_ns(); now < intended; now = mono_ns()) {
      read_ready();
      wait_readable_until(c->fd, intended);
    }
    p.set(sent, static_cast<uint64_t>(intended));
    append_xadd(c, key, p.bytes());
    int done = 0;
    while (!done)
      if (redisBufferWrite(c, &done) != REDIS_OK) throw std::runtime_error(std::string("redis: ") + c->errstr);
    ++sent;
    read_ready();
  }
  while (acked < sent) {
    get_reply(c);
    ++acked;
  }
  r.elapsed_s = static_cast<double>(mono_ns() - start) / 1e9;
  expected = sent;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until && received.load() < sent)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop = true;
  sub.join();
  if (!sub_error.empty()) throw std::runtime_error(sub_error);
  r.notes["sent"] = sent;
  r.notes["received"] = r.events;
  r.notes["subscriber"] = "XREAD BLOCK 100 COUNT 1000 on its own connection and thread";
  r.notes["latency_from"] = "intended send time (open loop)";
}

void row_catchup(redisContext* c, const peer_options& o, const std::string& key, peer_result& r) {
  event_payload p;
  for (uint64_t n = 0; n < o.events;) {
    const uint64_t k = std::min<uint64_t>(1000, o.events - n);
    for (uint64_t i = 0; i < k; ++i) {
      p.set(n + i, n + i);
      append_xadd(c, key, p.bytes());
    }
    for (uint64_t i = 0; i < k; ++i) get_reply(c);
    n += k;
  }
  nlohmann::json passes = nlohmann::json::array();
  for (uint32_t pass = 0; pass < o.passes; ++pass) {
    r.latency = latency_histogram();
    uint64_t seen = 0, bytes = 0;
    std::string from = "-";
    const int64_t start = mono_ns();
    for (;;) {
      int64_t t0 = mono_ns();
      auto* raw = static_cast<redisReply*>(redisCommand(c, "XRANGE %s %s + COUNT %u", key.c_str(),
                                                        from.c_str(), o.page));
      if (raw == nullptr) throw std::runtime_error(std::string("redis: ") + c->errstr);
      reply_ptr rep(raw);
      if (rep->type != REDIS_REPLY_ARRAY) throw std::runtime_error("redis: XRANGE did not answer an array");
      r.latency.record(static_cast<uint64_t>(mono_ns() - t0));
      for (size_t i = 0; i < rep->elements; ++i) {
        const redisReply* e = rep->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING ||
            e->element[1]->type != REDIS_REPLY_ARRAY)
          throw std::runtime_error("redis: unexpected XRANGE entry");
        const redisReply* fields = e->element[1];
        if (fields->elements >= 2) bytes += fields->element[1]->len;
      }
      seen += rep->elements;
      if (rep->elements < o.page) break;
      from = std::string("(") + rep->element[rep->elements - 1]->element[0]->str;
    }
    r.elapsed_s = static_cast<double>(mono_ns() - start) / 1e9;
    r.events = seen;
    if (seen != o.events) throw std::runtime_error("redis: catch-up read " + std::to_string(seen) + " events");
    passes.push_back({{"s", r.elapsed_s}, {"events", seen}, {"bytes", bytes}});
  }
  r.notes["passes"] = passes;
  r.notes["reported"] = "last pass (warm); latency_us is per page";
}

}  // namespace

peer_result run_redis(const peer_options& o) {
  peer_result r;
  auto c = connect(o);
  set_persistence(c.get(), o.row == "durable", r.notes);
  const std::string key = "peer:" + o.row;
  command(c.get(), "DEL %s", key);
  if (o.row == "one") row_one(c.get(), o, key, r);
  else if (o.row == "pipelined" || o.row == "durable") row_pipelined(c.get(), o, key, r);
  else if (o.row == "latency") row_latency(c.get(), o, key, r);
  else row_catchup(c.get(), o, key, r);
  command(c.get(), "DEL %s", key);
  r.notes["transport"] = (o.host.starts_with('/') ? "unix " : "tcp ") + o.host;
  return r;
}

}  // namespace rill::peers
