#include "readmodels/projector.h"

#include <algorithm>
#include <limits>

#include <spdlog/spdlog.h>

#include "core/event.h"
#include "readmodels/runtime_bell_watch.h"
#include "store/cpu_relax.h"
#include "transport/server_socket.h"

namespace rill::readmodels {

namespace {
// While catching up, change reports are coalesced for this long (a report per
// batch would flood the notifier with whole-model changes).
constexpr auto kCatchUpReportInterval = std::chrono::milliseconds(100);
// Waits after a source error before trying again.
constexpr auto kRetryUnavailable = std::chrono::milliseconds(200);
constexpr auto kRetryCorrupt = std::chrono::seconds(2);
// The same source error is logged at most this often.
constexpr auto kErrorLogInterval = std::chrono::seconds(10);
// Poll timeout while a rebuild runs (its completion is polled).
constexpr auto kRebuildPoll = std::chrono::milliseconds(5);
constexpr auto kRateWindow = std::chrono::seconds(1);
// The journal tail check while the bell is attached (see idle()).
constexpr auto kBellTailCheck = std::chrono::milliseconds(100);
// Feed messages taken per loop turn.
constexpr size_t kFeedDrain = 4096;
// Undecodable events: the first few are logged, then one in this many.
constexpr uint64_t kSkipLogEvery = 1000;
}  // namespace

projector::projector(runtime_options opt, std::vector<std::unique_ptr<read_model>> models,
                     projector_env env)
    : opt_(std::move(opt)), env_(std::move(env)) {
  for (auto& m : models) {
    filter_.add(*m);  // a rebuild's instance is a clone_empty(): it reads the same kinds
    slots_.push_back(std::make_unique<projector_slot>(std::move(m), opt_.max_report_keys));
  }
}

projector::~projector() {
  for (auto& s : slots_) s->job.reset();  // cancel and join rebuild threads first
}

uint64_t projector::min_applied() const {
  uint64_t m = std::numeric_limits<uint64_t>::max();
  for (const auto& s : slots_) m = std::min(m, s->applied);
  return slots_.empty() ? 0 : m;
}

int projector::run(const std::atomic<bool>& stop) {
  try {
    open();
  } catch (const transport::bad_endpoint& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 2;  // an endpoint no start can bind: configuration (not restarted)
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
  if (env_.ready != nullptr) env_.ready->store(true, std::memory_order_release);
  while (!stop.load(std::memory_order_relaxed) && !fatal_) {
    const auto now = clock::now();
    applied_this_turn_ = false;
    bool progress = take_feed();
    const bool more = catch_up(now);
    progress |= applied_this_turn_;
    finish_batch(now, !more && started_);
    progress |= serve_queries(now);
    step_rebuilds(now);
    // A saga that did work goes on at once (an e-mail campaign writes
    // emails_per_tick files per tick; a 10 ms sleep between ticks capped it).
    progress |= tick_sagas(now, applied_this_turn_);
    collect_snapshot_results();
    schedule_snapshots(now, false);
    sample_rate(now);
    if (progress) {
      last_activity_ = now;
    } else {
      idle(now);
    }
  }
  for (auto& s : slots_) s->job.reset();
  if (!fatal_) {
    final_snapshots();
  } else {
    writer_->wait_idle();
  }
  return fatal_ ? 1 : 0;
}

// ------------------------------------------------------------------ the feed

bool projector::take_feed() {
  if (env_.feed == nullptr || !env_.feed->pending()) return false;
  feed_batch_.clear();
  const size_t n = env_.feed->drain(feed_batch_, kFeedDrain);
  if (env_.local_source) {
    // The journal already holds these events and is read directly; the feed
    // only woke us up. The last message tells the head.
    event_head h;
    for (auto it = feed_batch_.rbegin(); it != feed_batch_.rend(); ++it) {
      if (peek_event({static_cast<const char*>(it->data()), it->size()}, h)) {
        feed_head_ = std::max(feed_head_, h.seq);
        break;
      }
    }
    return n > 0;
  }
  for (auto& msg : feed_batch_) {
    const std::span<const char> body(static_cast<const char*>(msg.data()), msg.size());
    event_head h;
    if (!peek_event(body, h) || h.seq == 0) continue;  // not an event: ignored
    feed_head_ = std::max(feed_head_, h.seq);
    if (h.seq <= applied_) continue;  // already applied (clone pattern)
    if (h.seq == applied_ + 1 && !need_catch_up_) {
      if (!apply_event(h.seq, body)) return true;
    } else {
      need_catch_up_ = true;  // a gap: the missing events come from the replay endpoint
    }
  }
  return n > 0;
}

// ----------------------------------------------------------------- catch-up

bool projector::source_error(source_status s, event_source& src, clock::time_point now) {
  if (src.error() != source_error_ || now - last_error_log_ >= kErrorLogInterval) {
    last_error_log_ = now;
    if (s == source_status::corrupt) {
      spdlog::error("{} source: {} (retrying)", src.kind(), src.error());
    } else {
      spdlog::warn("{} source: {} (retrying)", src.kind(), src.error());
    }
  }
  source_error_ = src.error();
  source_retry_at_ = now + (s == source_status::corrupt
                                ? std::chrono::duration_cast<clock::duration>(kRetryCorrupt)
                                : std::chrono::duration_cast<clock::duration>(kRetryUnavailable));
  return false;
}

bool projector::catch_up(clock::time_point now) {
  if (fatal_ || now < source_retry_at_) return false;
  if (!env_.local_source && !need_catch_up_ && now - last_tail_check_ < opt_.replay_check_interval)
    return false;
  size_t n = 0;
  if (have_peek_) {
    have_peek_ = false;
    if (peek_.seq == applied_ + 1 || applied_ == 0) {
      if (!apply_event(peek_.seq, peek_.body)) return false;
      ++n;
    }
  }
  if (source_->position() != applied_ + 1) {
    if (const auto s = source_->seek(applied_ + 1); s != source_status::ok)
      return source_error(s, *source_, now);
  }
  while (n < opt_.apply_batch) {
    source_event ev;
    const source_status s = source_->next(ev);
    if (s == source_status::ok) {
      if (applied_ != 0 && ev.seq != applied_ + 1) {
        // The source does not hold applied_ + 1: a journal that starts later
        // than what we applied, i.e. not the journal this state was built from.
        std::string msg = std::string(source_->kind()) + " source jumped from seq " +
                          std::to_string(applied_) + " to " + std::to_string(ev.seq) +
                          ": it is not the journal this state was built from; rebuild the model";
        if (msg != source_error_) spdlog::error("{}", msg);
        source_error_ = std::move(msg);
        source_retry_at_ = now + kRetryCorrupt;
        return false;
      }
      if (!apply_event(ev.seq, ev.body)) return false;
      ++n;
      continue;
    }
    if (s == source_status::end) {
      need_catch_up_ = false;
      last_tail_check_ = now;
      source_head_ = std::max(source_head_, applied_);
      if (!source_error_.empty()) {
        spdlog::info("{} source readable again", source_->kind());
        source_error_.clear();
      }
      if (!started_) {
        started_ = true;
        spdlog::info("caught up at seq {} in {:.3f} s", applied_,
                     std::chrono::duration<double>(now - started_at_).count());
        for (auto& sp : slots_) sp->batch.mark_all();  // the state changed wholesale
      }
      return false;
    }
    return source_error(s, *source_, now);
  }
  return true;  // the budget is used up: more may be waiting
}

bool projector::apply_event(uint64_t seq, std::span<const char> body) {
  // A kind no hosted model reads is passed over undecoded (its ts still
  // counts for the lag).
  event_kind_head kind;
  const bool unread = filter_.skips(body, kind);
  const bool ok = !unread && decoder_.decode(body, view_, why_) == errc::ok;
  if (!ok && !unread) {
    if (++events_skipped_ <= 10 || events_skipped_ % kSkipLogEvery == 0)
      spdlog::error("event {} does not decode and is skipped by every model: {} ({} so far)", seq,
                    why_, events_skipped_);
  }
  for (auto& sp : slots_) {
    projector_slot& s = *sp;
    if (s.applied < seq) {
      if (ok) {
        try {
          s.live->apply(view_, s.changes);
        } catch (const std::exception& e) {
          spdlog::critical(
              "model {} threw while applying event {}: {}; stopping (its state is "
              "no longer trustworthy)",
              s.name, seq, e.what());
          fatal_ = true;
          return false;
        }
        if (!s.changes.empty()) {
          for (const auto& k : s.changes.keys()) s.batch.add(k, seq);
          s.changes.clear();
        }
      }
      s.applied = seq;
      s.last_ts = ok ? view_.ts : unread ? kind.ts : 0;
      ++s.events_applied;
    }
    if (s.pending && s.pending_applied + 1 == seq) {
      if (ok) {
        change_set ignored;
        try {
          s.pending->apply(view_, ignored);
        } catch (const std::exception& e) {
          s.rebuild_error = std::string("the rebuilt model threw at seq ") + std::to_string(seq) +
                            ": " + e.what();
          spdlog::error("rebuild of {}: {}", s.name, s.rebuild_error);
          s.pending.reset();
          continue;
        }
      }
      s.pending_applied = seq;
    }
  }
  applied_ = seq;
  ++total_events_;
  applied_this_turn_ = true;
  return true;
}

void projector::finish_batch(clock::time_point now, bool caught_up) {
  const bool report = caught_up || now - last_report_ >= kCatchUpReportInterval;
  bool reported = false;
  for (auto& sp : slots_) {
    projector_slot& s = *sp;
    s.target.store(s.applied, std::memory_order_release);
    if (report && !s.batch.empty()) {
      reporter_->report(s.name, s.batch, s.applied);
      reported = true;
    }
    s.queries->release(s.applied, now, s.handler);
  }
  if (reported) last_report_ = now;
}

bool projector::serve_queries(clock::time_point now) {
  size_t n = 0;
  for (auto& sp : slots_) n += sp->queries->serve(sp->applied, now, sp->handler);
  return n > 0;
}

// -------------------------------------------------------------------- sagas

bool projector::tick_sagas(clock::time_point now, bool after_batch) {
  if (!started_ && (start_head_ == 0 || applied_ < start_head_)) return false;  // catching up
  bool worked = false;
  for (auto& sp : slots_) {
    projector_slot& s = *sp;
    if (s.live_saga == nullptr) continue;
    const bool busy = s.live_saga->busy();
    if (!after_batch && !busy && now < s.next_tick) continue;
    saga_context ctx;
    ctx.now = now;
    try {
      s.live_saga->tick(ctx, s.changes);
    } catch (const std::exception& e) {
      spdlog::error("saga {}: tick threw: {}", s.name, e.what());
    }
    if (busy) s.saga_progress = true;
    if (!s.changes.empty()) {
      worked = true;
      for (const auto& k : s.changes.keys()) s.batch.add(k, s.applied);
      s.changes.clear();
      s.saga_progress = true;
      reporter_->report(s.name, s.batch, s.applied);
    }
    s.next_tick = now + opt_.saga_tick_interval;
  }
  return worked;
}

// --------------------------------------------------------------------- idle

void projector::idle(clock::time_point now) {
  if (reporter_) reporter_->tend(now);
  // Journal source: poll the tail for a short while before sleeping, so a
  // burst that pauses for microseconds costs no wake-up.
  auto peek = [&] {
    if (have_peek_) return true;
    if (!env_.local_source || fatal_ || now < source_retry_at_) return false;
    if (source_->position() != applied_ + 1) return true;  // catch_up() seeks
    const auto s = source_->next(peek_);
    if (s == source_status::ok) return have_peek_ = true;
    if (s != source_status::end) source_error(s, *source_, now);
    return false;
  };
  if (env_.local_source && now - last_activity_ < opt_.idle_spin) {
    if (!peek()) {
      for (int i = 0; i < 16; ++i) cpu_relax();
    }
    return;
  }

  // How long we may sleep: until the next thing that is due. While the
  // journal's bell is attached it wakes us one futex hand-off after each
  // publish, and the tail check is only a safety net: kBellTailCheck, not
  // tail_check_interval (5 ms was 200 wake-ups a second per idle rill-proj).
  const bool bell = env_.watch != nullptr && env_.watch->attached();
  clock::time_point until =
      now + (!env_.local_source ? opt_.replay_check_interval
             : bell ? std::max<clock::duration>(opt_.tail_check_interval, kBellTailCheck)
                    : opt_.tail_check_interval);
  if (!env_.local_source) until = std::min(until, last_tail_check_ + opt_.replay_check_interval);
  if (source_retry_at_ > now) until = std::min(until, source_retry_at_);
  // The apply rate needs a new sample only while events come, or to fall to 0.
  if (total_events_ != rate_events_ || rate_ != 0) until = std::min(until, rate_at_ + kRateWindow);
  for (auto& sp : slots_) {
    const projector_slot& s = *sp;
    until = std::min(until, s.queries->next_deadline());
    if (s.live_saga != nullptr) until = std::min(until, s.next_tick);
    if (s.job || s.pending) until = std::min(until, now + kRebuildPoll);
  }
  // A snapshot due by time, or wanted (after a rebuild, or a failure).
  for (size_t i = 0; i < slots_.size(); ++i)
    if (!writer_->busy(i)) until = std::min(until, snapshot_due_at(*slots_[i]));
  // At least 1 ms: something due that cannot proceed yet (a snapshot while
  // the writer is busy) must not turn this into a busy loop.
  const auto timeout = std::max(std::chrono::ceil<std::chrono::milliseconds>(until - now),
                                std::chrono::milliseconds(1));

  env_.bell->arm();
  if ((env_.feed != nullptr && env_.feed->pending()) || peek()) {
    env_.bell->clear();
    return;
  }
  try {
    zmq::poll(poll_items_.data(), poll_items_.size(), timeout);
  } catch (const zmq::error_t&) {
    // EINTR (a signal): the loop checks the stop flag.
  }
  env_.bell->clear();
}

void projector::sample_rate(clock::time_point now) {
  if (now - rate_at_ < kRateWindow) return;
  const double dt = std::chrono::duration<double>(now - rate_at_).count();
  rate_ = dt > 0 ? static_cast<double>(total_events_ - rate_events_) / dt : 0;
  rate_events_ = total_events_;
  rate_at_ = now;
}

// ------------------------------------------------------------------ rebuild

bool projector::start_rebuild(projector_slot& s, std::string& why) {
  if (s.job || s.pending) {
    why = "a rebuild is already running";
    return false;
  }
  std::unique_ptr<read_model> fresh;
  try {
    fresh = s.live->clone_empty();
  } catch (const std::exception& e) {
    why = std::string("clone_empty() threw: ") + e.what();
  }
  if (!fresh) {
    if (why.empty()) why = "clone_empty() returned no model";
    spdlog::error("rebuild of {}: {}", s.name, why);
    return false;
  }
  s.target.store(s.applied, std::memory_order_release);
  s.rebuild_error.clear();
  s.rebuild_started = clock::now();
  s.job =
      std::make_unique<rebuild_job>(std::move(fresh), env_.source, s.target, opt_.rebuild_threads);
  spdlog::info("rebuild of {} started (live state at seq {} keeps answering)", s.name, s.applied);
  return true;
}

void projector::step_rebuilds(clock::time_point now) {
  for (size_t i = 0; i < slots_.size(); ++i) {
    projector_slot& s = *slots_[i];
    if (s.job) {
      const auto st = s.job->poll();
      if (st == rebuild_job::state::ready) {
        s.pending = s.job->take(s.pending_applied);
        s.job.reset();
        spdlog::info("rebuild of {} reached seq {} in {:.3f} s; handing over", s.name,
                     s.pending_applied,
                     std::chrono::duration<double>(now - s.rebuild_started).count());
      } else if (st == rebuild_job::state::failed) {
        s.rebuild_error = s.job->error();
        s.job.reset();
        spdlog::error("rebuild of {} failed: {}", s.name, s.rebuild_error);
      }
    }
    if (!s.pending) continue;
    // The live instance may have applied more since the rebuild thread
    // stopped: the fresh one catches up here, a batch per loop turn.
    if (s.pending_applied < s.applied) {
      event_source* aux = aux_source();
      if (aux == nullptr) continue;
      if (aux->position() != s.pending_applied + 1) {
        if (aux->seek(s.pending_applied + 1) != source_status::ok) continue;
      }
      change_set ignored;
      for (size_t n = 0; n < opt_.apply_batch && s.pending_applied < s.applied; ++n) {
        source_event ev;
        const auto st = aux->next(ev);
        if (st != source_status::ok) break;
        if (ev.seq != s.pending_applied + 1) {
          s.rebuild_error = "the source skipped seq " + std::to_string(s.pending_applied + 1);
          spdlog::error("rebuild of {}: {}", s.name, s.rebuild_error);
          s.pending.reset();
          break;
        }
        try {
          event_kind_head kind;
          if (!filter_.skips(ev.body, kind) && decoder_.decode(ev.body, view_, why_) == errc::ok)
            s.pending->apply(view_, ignored);
        } catch (const std::exception& e) {
          s.rebuild_error = std::string("the rebuilt model threw: ") + e.what();
          spdlog::error("rebuild of {}: {}", s.name, s.rebuild_error);
          s.pending.reset();
          break;
        }
        ignored.clear();
        s.pending_applied = ev.seq;
      }
      if (!s.pending) continue;
    }
    if (s.pending_applied == s.applied) {
      auto old = std::move(s.live);
      s.live = std::move(s.pending);
      s.live_saga = s.live->as_saga();
      s.pending_applied = 0;
      ++s.rebuilds;
      s.batch.mark_all();
      reporter_->report(s.name, s.batch, s.applied);
      if (retired_.valid()) retired_.wait();
      retired_ = std::async(std::launch::async, [o = std::move(old)]() mutable { o.reset(); });
      spdlog::info("rebuild of {} complete at seq {} in {:.3f} s", s.name, s.applied,
                   std::chrono::duration<double>(clock::now() - s.rebuild_started).count());
      // The rebuilt state replaces what the snapshots hold (it may come from
      // new model code): they go now, so that a restart never loads one,
      // and the new state is snapshotted at once (retried after a failure).
      s.rebuilt_at = s.applied;
      if (s.snapshots) {
        if (!s.snapshots->remove_all())
          spdlog::error("model {}: could not delete the snapshots of the state before the rebuild",
                        s.name);
        s.snapshot_seq = s.taken_seq = 0;
        s.snapshot_wanted = true;
      }
      take_snapshot(i, now, false);
    }
  }
}

}  // namespace rill::readmodels
