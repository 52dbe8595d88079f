#pragma once
// saga: a read model that also performs side effects (send commands to
// rill-core, call the rates service, write files). apply() stays pure and
// deterministic: it only records what is to be done in the model's state
// (which is snapshotted). tick() then does the due work and records progress.
//
// Exactly-once effects come from two rules:
// - every command carries an idempotency key derived from the event that
//   caused it (e.g. "fx:<order id>:<seq>"), so a command resent after a crash
//   or a replay is answered `dup` by rill-core and appends nothing;
// - every file is written to a temp name and renamed to a name derived from
//   the cause (D/outbox/<campaign>/<customer>.eml); an existing final file
//   means "already done".
//
// Thread-safety: none; the runtime calls tick() from its projector thread,
// between event batches and at least every tick_interval. Sockets a saga
// needs are created lazily inside tick(), so they belong to that thread.
#include <chrono>

#include "readmodels/read_model.h"

namespace rill::readmodels {

struct saga_context {
  std::chrono::steady_clock::time_point now;
  // True while the runtime is replaying events the previous instance already
  // handled (a rebuild); a saga performs no new side effects for them.
  bool replaying = false;
};

class saga : public read_model {
 public:
  saga* as_saga() override { return this; }
  // Performs due side effects without blocking for long (bounded waits, a few
  // ms at most): sends pending commands, polls replies, retries with capped
  // exponential backoff. Adds keys whose answers changed to `changed`.
  virtual void tick(const saga_context& ctx, change_set& changed) = 0;
  // True while work is pending (the runtime ticks more often then).
  virtual bool busy() const = 0;
  // How many side effects wait to be done or answered (e-mails to write,
  // orders whose rate is not in, commands not yet acknowledged): `status`
  // shows it as `saga_pending`, so an operator sees a saga that is still
  // working through a backlog while the model's lag is 0.
  virtual uint64_t pending() const { return busy() ? 1 : 0; }
};

}  // namespace rill::readmodels
