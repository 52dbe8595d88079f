// rill-core: the command processor daemon (DESIGN.md "Processes").
//
// Threads: the main thread owns the command ROUTER, the validator, the
// journal writer (the only writer) and the PUB feed; the replay thread owns
// the replay ROUTER; the journal's own background thread prefaults pages
// (and flushes in interval mode).
//
// Per drained batch: receive up to drain_max requests (and drain_max_bytes)
// without blocking,
// validate + append + publish each, flush once (batch sync: group commit),
// send the feed up to what is now safe, then send every reply.
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/command_processor.h"
#include "core/private_dir.h"
#include "core/schema.h"
#include "daemons/common/exit_codes.h"
#include "daemons/common/pid_file.h"
#include "daemons/rill_core/checkpoint_policy.h"
#include "daemons/rill_core/index_store.h"
#include "daemons/rill_core/options.h"
#include "daemons/rill_core/writer_sink.h"
#include "store/journal_writer.h"
#include "store/segment_file.h"
#include "transport/endpoints.h"
#include "transport/event_publisher.h"
#include "transport/replay_server.h"
#include "transport/security.h"
#include "transport/server_socket.h"

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

// A schema file: at most 16 MiB (a schema of the documented maxima is far
// smaller), so that --schema /dev/zero is an error, not an exhausted host.
std::string read_file(const std::string& path) {
  constexpr size_t kMaxSchemaBytes = 16u << 20;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string text(kMaxSchemaBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw std::runtime_error("cannot read " + path);
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxSchemaBytes)
    throw std::runtime_error(path + " is larger than 16 MiB: not a schema file");
  return text;
}

size_t count_segments(const std::filesystem::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".rjl") ++n;
  return n;
}

}  // namespace

int run(rill::daemon::core_options& o) {
  using namespace rill;
  namespace fs = std::filesystem;
  const auto started = std::chrono::steady_clock::now();
  o.data = fs::absolute(o.data).lexically_normal();
  try {
    make_private_dir(o.data);
    make_private_dir(o.data / "run");
  } catch (const fs::filesystem_error& e) {
    // A file where D or D/run belongs: every start would fail the same way.
    spdlog::critical("cannot create {}: {}", e.path1().string(), e.code().message());
    return e.code() == std::errc::not_a_directory ? daemon::exit_data : daemon::exit_fault;
  }
  auto eps = transport::default_endpoints(o.data);
  if (o.command.empty()) o.command = eps.command;
  if (o.events.empty()) o.events = eps.events;
  if (o.replay.empty()) o.replay = eps.replay;

  // The schema.
  std::unique_ptr<schema> owned_schema;
  const schema* sch = &schema::default_schema();
  if (!o.schema.empty()) {
    // A schema that cannot be read or parsed is a configuration error: a
    // restart would fail the same way (daemons/common/exit_codes.h).
    std::string err;
    try {
      owned_schema = schema::parse(read_file(o.schema), err);
    } catch (const std::exception& e) {
      err = e.what();
    }
    if (!owned_schema) {
      spdlog::critical("schema {}: {}", o.schema, err);
      return daemon::exit_config;
    }
    sch = owned_schema.get();
  }

  // The journal: recover, then rebuild the index.
  store::journal_options jo;
  jo.dir = o.data / "journal";
  jo.segment_size = o.segment_size;
  jo.sync = o.sync;
  jo.prefault_ahead = o.prefault_ahead;
  store::recovery_report rr;
  if (std::error_code ec;
      fs::exists(fs::symlink_status(jo.dir, ec)) && !fs::is_directory(jo.dir, ec)) {
    // Not something a restart cures: the supervisor does not retry it.
    spdlog::critical(
        "journal refused: {} is not a directory; move it away (or restore the journal "
        "there)",
        jo.dir.string());
    return daemon::exit_data;
  }
  auto writer = store::journal_writer::open(jo, rr);
  if (!writer) {
    spdlog::critical("journal refused: {}", rr.message);
    if (rr.corrupt) {
      spdlog::critical(
          "the same bytes will be there at every start: see 'rill journal verify "
          "--data {0}', and 'rill journal truncate --data {0} --after {1}' to cut "
          "the journal after its last sound event (docs/cli.md)",
          o.data.string(), rr.corrupt_seq > 0 ? rr.corrupt_seq - 1 : 0);
      return daemon::exit_data;
    }
    return daemon::exit_fault;
  }
  spdlog::info("journal: {}", rr.message);
  daemon::index_load_report ir;
  auto val = daemon::load_index(*sch, validator_options{o.max_keys}, o.data, writer->head(), ir);
  spdlog::info("index: {} aggregates, {} keys (checkpoint at seq {}, {} events replayed, {:.3f} s)",
               val->aggregate_count(), val->key_count(), ir.checkpoint_seq, ir.replayed, ir.seconds);

  // Security for tcp:// endpoints.
  zmq::context_t ctx(1);
  std::unique_ptr<transport::server_security> sec;
  std::unique_ptr<transport::zap_handler> zap;
  if (!o.curve_key.empty()) {
    sec = std::make_unique<transport::server_security>();
    sec->server = transport::load_key_file(o.curve_key);
    if (!o.curve_allow.empty()) sec->allowed = transport::load_allow_list(o.curve_allow);
    zap = std::make_unique<transport::zap_handler>(ctx, sec->allowed);
  }

  for (const std::string* ep : {&o.command, &o.events, &o.replay}) {
    if (auto why = transport::endpoint_problem(*ep); !why.empty())
      throw transport::bad_endpoint(why);
    transport::check_server_security(*ep, sec.get());
  }

  // Sockets and threads.
  daemon::writer_sink sink(*writer);
  const bool durable = o.sync.k == store::sync_mode::kind::batch;
  auto feed_head = [&writer, durable] {
    return durable ? writer->durable_head() : writer->published_head();
  };
  transport::server_options so;
  so.max_message = std::max<int64_t>(64 << 20, static_cast<int64_t>(o.lim.max_request_bytes) * 2);
  // A client that pipelines batches and reads no replies made rill-core hold
  // them all: 15 GB in 25 s of 4096-command batches. Acknowledgements of
  // single commands (about 30 bytes) stay bounded by the send high-water
  // mark and off the counting path.
  so.max_peer_bytes = o.max_queued_reply_bytes;
  so.count_from = 64;
  transport::server_socket commands(ctx, o.command, so, sec.get());
  // The command thread publishes itself (inline_send): one thread hop less
  // between an append and the feed (feed p50 at 20k/s: 192 -> 136 us).
  transport::publisher_options pub_opt{o.events, jo.dir, o.events_hwm, writer->head()};
  pub_opt.inline_send = true;
  // Segments the feed has passed are unmapped off the command thread.
  pub_opt.release = [w = writer.get()](std::unique_ptr<store::segment_file> f) {
    w->release_later(std::move(f));
  };
  transport::event_publisher publisher(ctx, pub_opt, sec.get());
  transport::replay_options ro{o.replay, jo.dir};
  ro.max_request_bytes = o.lim.max_request_bytes;  // the same limit as commands
  ro.server.max_message = so.max_message;
  transport::replay_server replay(ctx, ro, feed_head, sec.get());

  processor_options po;
  po.lim = o.lim;
  po.durable = durable;
  uint64_t dropped_logged = 0;
  std::chrono::steady_clock::time_point dropped_logged_at{};  // at most one line per 10 s
  bool worked_since_trim = false;
  std::chrono::steady_clock::time_point trimmed_at{}, worked_at{};
  std::chrono::steady_clock::time_point unavailable_logged_at{};
  bool refusing = false;        // commands were answered unavailable since the last append
  uint64_t refused_before = 0;  // unavailable answers up to the last batch
  uint64_t head_when_refused = 0;
  po.extra_status = [&] {
    return nlohmann::json{
        {"sync", o.sync.to_string()},
        {"published_head", writer->published_head()},
        {"durable_head", writer->durable_head()},
        {"feed_sent", publisher.sent()},
        {"segments", count_segments(jo.dir)},
        {"uptime_s",
         std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()},
        {"replay_requests", replay.requests()},
        // Both request endpoints; the replay endpoint's share on its own.
        {"dropped_replies", commands.dropped_replies() + replay.dropped_replies()},
        {"replay_dropped_replies", replay.dropped_replies()},
        {"forbidden_requests", commands.forbidden()},  // tcp + CURVE: keys not on the allow-list
        // CURVE handshakes by such keys on any endpoint, the feed's included
        // (its subscribers are refused at the handshake, so they send nothing).
        {"unknown_key_handshakes", zap ? zap->refused() : uint64_t{0}},
        {"pid", ::getpid()},
        {"data", o.data.string()},
        {"daemon", "rill-core"}};
  };
  command_processor proc(*sch, *val, sink, std::move(po));
  daemon::background_checkpointer checkpointer(o.data, ir.checkpoint_seq);
  daemon::checkpoint_policy checkpoints(o.checkpoint_every,
                                        std::chrono::seconds(o.checkpoint_interval_s));
  auto maybe_checkpoint = [&] {
    if (checkpoints.due(writer->head(), checkpointer.last_seq()) &&
        checkpointer.start(*val, writer->head()))
      checkpoints.started();
  };

  // The pid file says we are up (flock'ed like the other daemons'; the
  // journal's LOCK already keeps out a second rill-core on this data dir).
  daemon::pid_file pid;
  if (std::string error; !pid.acquire(o.data / "run" / "rill-core.pid", error)) {
    spdlog::critical("rill-core: {}", error);
    return 1;
  }
  spdlog::info("rill-core up: pid {}, head {}, sync {}, command {}, events {}, replay {}",
               ::getpid(), writer->head(), o.sync.to_string(), o.command, o.events, o.replay);

  std::vector<transport::inbound> in(o.drain_max);
  zmq::pollitem_t item{commands.socket().handle(), 0, ZMQ_POLLIN, 0};
  const auto spin = std::chrono::microseconds(o.busy_poll_us);
  while (!g_stop.load(std::memory_order_relaxed)) {
    proc.begin_batch();
    size_t n = 0;
    if (!commands.recv(in[0], false)) {
      // Nothing waiting: spin a little (cheaper than a wake-up), then block.
      bool got = false;
      if (spin.count() > 0) {
        const auto until = std::chrono::steady_clock::now() + spin;
        while (!got && std::chrono::steady_clock::now() < until) got = commands.recv(in[0], false);
      }
      if (!got) {
        try {
          zmq::poll(&item, 1, std::chrono::milliseconds(100));
        } catch (const zmq::error_t&) {
        }
        publisher.advance(feed_head());  // retries a read the journal refused earlier
        maybe_checkpoint();
        // Quiet for a second after work: hand the memory glibc keeps
        // from freed requests and replies back to the system, at most every
        // 10 s. A client that flooded rill-core and went away left it
        // holding 0.8 GB of freed buffers for good.
        if (worked_since_trim) {
          const auto now = std::chrono::steady_clock::now();
          if (now - worked_at >= std::chrono::seconds(1) &&
              now - trimmed_at >= std::chrono::seconds(10)) {
            proc.release_buffers();
            ::malloc_trim(0);
            trimmed_at = now;
            worked_since_trim = false;
          }
        }
        continue;
      }
    }
    n = 1;
    worked_since_trim = true;
    worked_at = std::chrono::steady_clock::now();
    size_t drained_bytes = in[0].body.size();
    while (n < in.size() && drained_bytes < o.drain_max_bytes && commands.recv(in[n], false))
      drained_bytes += in[n++].body.size();
    // Decode the request kLookahead further on (and prefetch its index / key
    // slots) while handling this one: consecutive pipelined commands overlap
    // their cache misses, and each request is read once.
    constexpr size_t kAhead = command_processor::kLookahead;
    auto readable = [&](size_t i) { return !in[i].empty && !in[i].extra_frames; };
    auto stage = [&](size_t i) {
      if (i < n && readable(i)) proc.stage(i, in[i].bytes());
    };
    for (size_t i = 0; i < kAhead; ++i) stage(i);
    for (size_t i = 0; i < n; ++i) {
      stage(i + kAhead);
      if (readable(i))
        proc.handle_staged(i);
      else
        proc.reject(errc::bad_request,
                    in[i].empty ? "empty request: the body frame is missing"
                                : "a request is exactly one body frame",
                    in[i].empty ? std::span<const char>() : find_req(in[i].bytes(), o.lim));
    }
    if (proc.end_batch() != errc::ok)
      spdlog::critical("journal flush failed: refusing further writes until restarted");
    publisher.advance(feed_head());
    for (size_t i = 0; i < n; ++i) commands.reply(in[i], proc.reply(i));
    // The requests' buffers go back now, not when a later batch reuses the
    // slot: 2,048 slots of up to 1 MiB each held a flood's last batch (0.8 GB
    // after the client had gone).
    for (size_t i = 0; i < n; ++i) in[i].release();
    // Commands answered `unavailable` (disk full, an I/O error): say why in
    // the log when it starts and at most every 10 s while it lasts, and say
    // when writes are accepted again.
    const uint64_t refused = proc.counters().errors[static_cast<size_t>(errc::unavailable)];
    if (refused != refused_before) {
      refused_before = refused;
      const auto now = std::chrono::steady_clock::now();
      if (!refusing || now - unavailable_logged_at >= std::chrono::seconds(10)) {
        spdlog::error("the journal refused writes: {}; {} command(s) answered unavailable so far",
                      writer->last_error().empty() ? "see above" : writer->last_error(), refused);
        unavailable_logged_at = now;
      }
      refusing = true;
      head_when_refused = writer->head();
    } else if (refusing && writer->head() != head_when_refused) {
      spdlog::info(
          "the journal accepts writes again (head {}; {} command(s) were answered unavailable)",
          writer->head(), refused);
      refusing = false;
    }
    if (commands.dropped_replies() != dropped_logged &&
        std::chrono::steady_clock::now() - dropped_logged_at >= std::chrono::seconds(10)) {
      dropped_logged_at = std::chrono::steady_clock::now();
      spdlog::warn("{} replies dropped so far (clients gone or not reading)", commands.dropped_replies());
      dropped_logged = commands.dropped_replies();
    }
    maybe_checkpoint();
  }

  spdlog::info("rill-core stopping: head {}", writer->head());
  if (writer->flush() != store::io_status::ok) spdlog::error("final journal flush failed");
  checkpointer.wait();
  // Not when nothing was appended since the checkpoint loaded at start: the
  // file is that checkpoint already (hundreds of MB for millions of ids).
  if (writer->head() == ir.checkpoint_seq && checkpointer.last_seq() == ir.checkpoint_seq) {
    spdlog::info("index checkpoint at seq {} is current", ir.checkpoint_seq);
  } else if (!daemon::write_checkpoint(*val, writer->head(), o.data)) {
    spdlog::warn("could not write the index checkpoint; the next start replays the journal");
  }
  // ~pid_file removes the pid file; main's bound_ipc_files_guard the sockets.
  return 0;
}

int main(int argc, char** argv) {
  rill::daemon::core_options o;
  int rc = rill::daemon::parse_core_options(argc, argv, o);
  if (rc != 0) return rc < 0 ? 0 : rc;
  auto logger = spdlog::stderr_color_mt("rill-core");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ rill-core: %v");
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);  // a closed terminal: a clean stop, not a kill
  signal(SIGPIPE, SIG_IGN);
  const rill::transport::bound_ipc_files_guard unbind;  // also when run() fails
  try {
    return run(o);
  } catch (const rill::transport::bad_endpoint& e) {
    // An endpoint no start can bind: the same every start (not restarted).
    spdlog::critical("{}", e.what());
    return rill::daemon::exit_config;
  } catch (const rill::transport::security_error& e) {
    // Keys or CURVE configuration: the same every start (not restarted).
    spdlog::critical("{}", e.what());
    return rill::daemon::exit_config;
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
}
