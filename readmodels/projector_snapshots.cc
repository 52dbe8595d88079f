// The projector's start (open the models' snapshot directories, load the
// newest valid snapshots, bind the query endpoints) and its snapshots.
#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <thread>

#include "readmodels/projector.h"
#include "readmodels/snapshot_format.h"

namespace rill::readmodels {

namespace {
// How long a start waits for rill-core to repair a damaged journal tail at a
// snapshot's seq before giving the snapshot up (rill-core opens a journal of
// millions of events in a second or two).
constexpr auto kTornTailWait = std::chrono::seconds(10);

uint64_t wall_ns(const projector_env& env) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(env.wall_clock().time_since_epoch())
          .count());
}
}  // namespace

void projector::open() {
  started_at_ = clock::now();
  writer_ = std::make_unique<snapshot_writer>();
  change_reporter_options ro;
  ro.endpoint = opt_.notify_in_endpoint == "none" ? "" : opt_.notify_in_endpoint;
  ro.max_keys = opt_.max_report_keys;
  ro.send_hwm = opt_.report_hwm;
  reporter_ = std::make_unique<change_reporter>(*env_.ctx, ro, env_.client_sec);
  source_ = env_.source();
  if (!source_) throw std::runtime_error("no event source");

  const uint64_t head = source_->last_seq();
  const bool head_known = env_.local_source || head > 0;
  start_head_ = head;
  spdlog::info("event source: {} (head {}{})", source_->kind(), head,
               head_known ? "" : ", unknown: the replay endpoint does not answer yet");

  query_server_options qo;
  qo.decode.lim = opt_.query_limits;
  qo.decode.default_timeout_ms = opt_.default_query_timeout_ms;
  qo.decode.max_timeout_ms = opt_.max_query_timeout_ms;
  qo.max_parked = opt_.max_parked_queries;
  qo.max_parked_bytes = opt_.max_parked_query_bytes;
  qo.socket.max_peer_bytes = opt_.max_queued_reply_bytes;
  qo.socket.max_message =
      static_cast<int64_t>(std::max<size_t>(opt_.query_limits.max_request_bytes * 2, 64u << 20));

  const auto now = clock::now();
  for (auto& sp : slots_) {
    projector_slot& s = *sp;
    s.snapshots = std::make_unique<snapshot_store>(opt_.data_dir / "models" / s.name, s.name,
                                                   opt_.snapshots_kept);
    std::string msg;
    if (s.snapshots->open(msg) != snapshot_status::ok) throw std::runtime_error(msg);
    ::chmod((opt_.data_dir / "models").c_str(), 0700);  // D/models, private like the rest of D
    const auto it = opt_.model_settings.find(s.name);
    const std::string settings = it == opt_.model_settings.end() ? "{}" : it->second;
    bool discarded = false;
    std::string previous;
    if (s.snapshots->use_settings(settings, discarded, previous, msg) != snapshot_status::ok) {
      spdlog::error("model {}: {}; its snapshots are not used (rebuilding from seq 1)", s.name,
                    msg);
    } else {
      if (discarded)
        spdlog::warn(
            "model {}: its settings changed since its snapshots were taken ({} -> {}); they were "
            "deleted, and the model is rebuilt from seq 1",
            s.name, previous.empty() ? "no record" : previous, settings);
      load_snapshot(s, head_known ? head : UINT64_MAX);
    }
    s.last_snapshot = now;
    s.next_tick = now;
    s.target.store(s.applied);
    const auto& ep = opt_.model_endpoints.at(s.name);
    s.queries = std::make_unique<query_server>(*env_.ctx, s.name, ep, qo, env_.server_sec);
    s.handler = [this, &s](const query_request& rq, out_buffer& out) { answer(s, rq, out); };
    spdlog::info("model {}: queries on {}, state at seq {}{}", s.name, ep, s.applied,
                 s.applied == 0 ? " (building from seq 1)" : " (from its snapshot)");
  }
  applied_ = min_applied();
  poll_items_.clear();
  poll_items_.push_back({nullptr, env_.bell->fd(), ZMQ_POLLIN, 0});
  for (auto& sp : slots_) poll_items_.push_back({sp->queries->socket().handle(), 0, ZMQ_POLLIN, 0});
  last_activity_ = now;
  rate_at_ = now;
  last_report_ = now;
}

// Loads the newest snapshot that checks out: intact file, of this model, not
// beyond the journal's head, taken from this journal (fingerprint of the event
// at its seq), accepted by the model. Every other one is logged and discarded.
void projector::load_snapshot(projector_slot& s, uint64_t head) {
  bool journal_unreadable = false;  // waited for a repair once already
  std::string msg;
  const auto seqs = s.snapshots->list(msg);
  if (!msg.empty()) spdlog::warn("model {}: cannot list snapshots: {}", s.name, msg);
  for (const uint64_t seq : seqs) {
    loaded_snapshot snap;
    const auto st = s.snapshots->read(seq, snap, msg);
    if (st != snapshot_status::ok) {
      spdlog::warn("model {}: snapshot at seq {} skipped: {}", s.name, seq, msg);
      if (st == snapshot_status::corrupt) s.snapshots->remove(seq);
      continue;
    }
    if (seq > head) {
      spdlog::warn(
          "model {}: snapshot at seq {} is beyond the journal head {} (the journal lost "
          "its tail); discarded",
          s.name, seq, head);
      s.snapshots->remove(seq);
      continue;
    }
    if (seq > 0 && snap.hdr.event_fingerprint != 0) {
      event_source* aux = aux_source();
      source_event ev;
      auto read_at = [&] {
        source_status st = aux == nullptr ? source_status::unavailable : aux->seek(seq);
        if (st == source_status::ok) st = aux->next(ev);
        return st;
      };
      source_status vs = read_at();
      if (vs == source_status::corrupt && env_.local_source && !journal_unreadable) {
        // A damaged record at the snapshot's seq is most often a torn tail
        // that rill-core drops when it opens the journal (and then reuses
        // the seq for a new event). Loading the snapshot before that would
        // skip the new events at those seqs: wait for the repair.
        spdlog::warn(
            "model {}: the journal is unreadable at seq {} ({}); waiting up to {} s for "
            "rill-core to recover it before checking the snapshot",
            s.name, seq, aux->error(),
            std::chrono::duration_cast<std::chrono::seconds>(kTornTailWait).count());
        const auto deadline = clock::now() + kTornTailWait;
        while (vs == source_status::corrupt && clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          vs = read_at();
        }
        if (vs == source_status::corrupt) {
          journal_unreadable = true;
          spdlog::warn(
              "model {}: the journal is still unreadable at seq {} ({}); its snapshots "
              "are not used",
              s.name, seq, aux->error());
        }
      }
      if (vs == source_status::corrupt && env_.local_source) {
        spdlog::warn("model {}: snapshot at seq {} skipped: the journal cannot confirm it", s.name,
                     seq);
        continue;
      }
      if (vs == source_status::ok && ev.seq == seq) {
        const bool ok = decoder_.decode(ev.body, view_, why_) == errc::ok;
        if (!ok ||
            snapshot_format::event_fingerprint(seq, view_.ts) != snap.hdr.event_fingerprint) {
          spdlog::warn(
              "model {}: snapshot at seq {} was not built from this journal (its event "
              "{} differs); discarded",
              s.name, seq, seq);
          s.snapshots->remove(seq);
          continue;
        }
      } else if (vs == source_status::ok || vs == source_status::end) {
        spdlog::warn(
            "model {}: snapshot at seq {}: the journal does not hold that event; "
            "discarded",
            s.name, seq);
        s.snapshots->remove(seq);
        continue;
      } else {
        spdlog::warn(
            "model {}: snapshot at seq {} cannot be checked against the journal ({}); "
            "loading it unchecked",
            s.name, seq, aux ? aux->error() : "no source");
      }
    }
    std::unique_ptr<read_model> fresh;
    std::string err;
    bool loaded = false;
    try {
      fresh = s.live->clone_empty();
      loaded = fresh && fresh->load(snap.body, err);
    } catch (const std::exception& e) {
      err = std::string("load() threw: ") + e.what();
    }
    if (!loaded) {
      spdlog::warn("model {}: snapshot at seq {} refused by the model: {}", s.name, seq, err);
      continue;
    }
    s.live = std::move(fresh);
    s.live_saga = s.live->as_saga();
    s.applied = seq;
    s.snapshot_seq = s.taken_seq = s.loaded_seq = seq;
    s.loaded_fingerprint = snap.hdr.event_fingerprint;
    spdlog::info("model {}: loaded snapshot at seq {} ({} bytes)", s.name, seq, snap.body.size());
    return;
  }
  if (!seqs.empty()) spdlog::warn("model {}: no usable snapshot; rebuilding from seq 1", s.name);
}

bool projector::take_snapshot(size_t i, clock::time_point now, bool sync) {
  projector_slot& s = *slots_[i];
  if (!s.snapshots || writer_->busy(i)) return false;
  snapshot_job job;
  job.store = s.snapshots.get();
  job.slot = i;
  job.seq = s.applied;
  if (s.applied == 0) {
    job.event_fingerprint = 0;
  } else if (s.applied == s.loaded_seq) {
    job.event_fingerprint = s.loaded_fingerprint;
  } else {
    job.event_fingerprint =
        s.last_ts == 0 ? 0 : snapshot_format::event_fingerprint(s.applied, s.last_ts);
  }
  job.created_ns = wall_ns(env_);
  if (!sync && opt_.snapshot_fork &&
      writer_->submit_forked(i, *s.snapshots, *s.live, job.seq, job.event_fingerprint,
                             job.created_ns)) {
    // save() and the write run in a child process (snapshot_writer.h).
    s.taken_seq = job.seq;
    s.last_snapshot = now;
    s.saga_progress = false;
    return true;
  }
  const auto t0 = clock::now();
  try {
    s.live->save(job.body);
  } catch (const std::exception& e) {
    s.snapshot_error = std::string("save() threw: ") + e.what();
    spdlog::error("model {}: snapshot at seq {} failed: {}", s.name, s.applied, s.snapshot_error);
    s.last_snapshot = now;
    snapshot_failed(s, now);
    return false;
  }
  spdlog::debug("model {}: saved {} bytes at seq {} in {:.3f} s", s.name, job.body.size(), job.seq,
                std::chrono::duration<double>(clock::now() - t0).count());
  s.taken_seq = job.seq;
  s.last_snapshot = now;
  s.saga_progress = false;
  if (!writer_->submit(job)) return false;
  if (sync) {
    writer_->wait_idle();
    collect_snapshot_results();
  }
  return true;
}

void projector::collect_snapshot_results() {
  std::vector<snapshot_result> done;
  writer_->finished(done);
  for (auto& r : done) {
    projector_slot& s = *slots_[r.slot];
    if (r.status == snapshot_status::ok && r.seq < s.rebuilt_at) {
      // Taken from the state a rebuild has since replaced (a child that was
      // writing at the swap): it must not be loaded after a restart.
      s.snapshots->remove(r.seq);
      spdlog::info("model {}: snapshot at seq {} is of the state before the rebuild; removed",
                   s.name, r.seq);
    } else if (r.status == snapshot_status::ok) {
      s.snapshot_cost = clock::now() - s.last_snapshot;
      s.snapshot_wanted = false;
      if (s.rebuilt_at > 0) {  // none from before the rebuild stays as an older fallback
        std::string ignored;
        for (const uint64_t seq : s.snapshots->list(ignored))
          if (seq < s.rebuilt_at) s.snapshots->remove(seq);
      }
      s.snapshot_seq = std::max(s.snapshot_seq, r.seq);
      s.snapshot_error.clear();
      s.snapshot_failures = 0;
      s.snapshot_retry_at = {};
      spdlog::info(
          "model {}: snapshot at seq {} written ({} bytes, {:.3f} s; the next one not "
          "before {:.1f} s from its start)",
          s.name, r.seq, r.bytes, std::chrono::duration<double>(s.snapshot_cost).count(),
          std::chrono::duration<double>(s.snapshot_cost * kSnapshotGapFactor).count());
    } else {
      s.snapshot_error = r.message;
      s.taken_seq = s.snapshot_seq;  // the next one is due again, after the back-off
      snapshot_failed(s, clock::now());
      spdlog::error(
          "model {}: snapshot at seq {} failed ({} in a row; next attempt in {} s at the "
          "earliest): {}",
          s.name, r.seq, s.snapshot_failures, snapshot_backoff_s(s.snapshot_failures), r.message);
    }
  }
}

// A snapshot that failed is not tried again before this many seconds: 1, 2,
// 4 ... up to 60 for failures in a row. Without it a lasting fault (a full
// disk, a model directory that cannot be written) would fork a child and
// log an error on every projector turn.
uint32_t projector::snapshot_backoff_s(uint32_t failures) {
  return failures == 0 ? 0 : std::min<uint32_t>(60, 1u << std::min<uint32_t>(failures - 1, 6));
}

void projector::snapshot_failed(projector_slot& s, clock::time_point now) {
  ++s.snapshot_failures;
  s.snapshot_retry_at = now + std::chrono::seconds(snapshot_backoff_s(s.snapshot_failures));
  s.snapshot_wanted = true;  // retried whatever the count and the time say
}

projector::clock::time_point projector::snapshot_earliest(const projector_slot& s) {
  return std::max(s.snapshot_retry_at, s.last_snapshot + s.snapshot_cost * kSnapshotGapFactor);
}

projector::clock::time_point projector::snapshot_due_at(const projector_slot& s) const {
  if (!(s.applied > s.taken_seq || s.saga_progress)) return clock::time_point::max();
  if (s.snapshot_wanted) return snapshot_earliest(s);
  if (opt_.snapshot_seconds <= 0) return clock::time_point::max();
  return std::max(snapshot_earliest(s),
                  s.last_snapshot + std::chrono::duration_cast<clock::duration>(
                                        std::chrono::duration<double>(opt_.snapshot_seconds)));
}

void projector::schedule_snapshots(clock::time_point now, bool force) {
  for (size_t i = 0; i < slots_.size(); ++i) {
    projector_slot& s = *slots_[i];
    const bool changed = s.applied > s.taken_seq || s.saga_progress;
    if (!changed) continue;
    if (!force && now < snapshot_earliest(s)) continue;
    // While catching up at start, count-based snapshots wait for the end (a
    // save() every snapshot_every events of a long catch-up costs more than
    // it saves); time-based ones still happen.
    const bool by_count =
        started_ && opt_.snapshot_every > 0 && s.applied - s.taken_seq >= opt_.snapshot_every;
    if (force || by_count || now >= snapshot_due_at(s)) take_snapshot(i, now, false);
  }
}

void projector::final_snapshots() {
  writer_->wait_idle();
  collect_snapshot_results();
  if (!opt_.final_snapshot) return;
  const auto now = clock::now();
  for (size_t i = 0; i < slots_.size(); ++i) {
    projector_slot& s = *slots_[i];
    if (s.applied > s.snapshot_seq || s.saga_progress) take_snapshot(i, now, true);
  }
}

}  // namespace rill::readmodels
