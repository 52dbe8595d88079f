#pragma once
// apply_ahead: applies stored events to one read model strictly in seq
// order, decoding up to `depth` events ahead of the one being applied and
// calling read_model::prefetch() on each as it is decoded. A model whose
// apply() is bound by cache misses (hash-table probes of ids in a state much
// larger than the cache, as in a rebuild of millions of events) then has
// the misses of several events in flight at once instead of one after the
// other.
//
// The bodies pushed must stay valid until the event is applied: up to
// depth - 1 further push() calls (event_source::stable_bodies() says how
// many a source guarantees; depth = stable_bodies() + 1 at most).
//
// An event of a kind the model does not read (read_model::reads()) is not
// decoded and takes no slot: it counts as applied once the events before it
// are (skipped()).
//
// An event that does not decode is skipped (counted in undecodable()), as
// the projector does. apply() exceptions propagate; the event that threw
// counts as not applied (applied() is the seq before it).
//
// Ownership: borrows the model (must outlive this) and the bodies; owns one
// decoder per slot. Thread-safety: none (one thread).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "readmodels/event_filter.h"
#include "readmodels/projector_decode.h"
#include "readmodels/read_model.h"

namespace rill::readmodels {

class apply_ahead {
 public:
  static constexpr size_t kDefaultDepth = 8;

  // depth >= 1 (1: decode and apply each event at once, no lookahead).
  apply_ahead(read_model& model, change_set& changed, size_t depth = kDefaultDepth);

  // Queues the event (seq = the previous one + 1) and gives the model its
  // prefetch hint; once `depth` events are queued, applies the oldest (so at
  // most depth - 1 stay queued between calls).
  void push(uint64_t seq, std::span<const char> body);
  // Applies every queued event.
  void flush();

  // Seq of the last event applied (or skipped as undecodable); 0 = none.
  uint64_t applied() const { return applied_; }
  size_t queued() const { return count_; }
  uint64_t undecodable() const { return undecodable_; }
  // Events the model does not read, passed over without decoding.
  uint64_t skipped() const { return skipped_; }
  // Why the last undecodable event did not decode.
  const std::string& last_error() const { return why_; }

 private:
  struct slot {
    event_decoder decoder;
    event_view view;
    uint64_t seq = 0;
    uint64_t through = 0;  // seq of the last unread event pushed after it
    bool ok = false;
  };
  void apply_oldest();

  read_model& model_;
  change_set& changed_;
  event_filter filter_;
  std::vector<slot> ring_;
  size_t head_ = 0;   // oldest queued
  size_t count_ = 0;  // queued
  uint64_t applied_ = 0;
  uint64_t undecodable_ = 0;
  uint64_t skipped_ = 0;
  std::string why_;
};

}  // namespace rill::readmodels
