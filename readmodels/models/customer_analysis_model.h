#pragma once
// customer_analysis: the A/B/C rating of every customer by revenue in the base
// currency (DOMAIN.md), and the classification saga.
//
// Rating: revenue >= thresholds.A -> A, >= thresholds.B -> B, else C
// (revenue as in revenue_book: an order counts once its rate is known).
// Every customer the model knows of has a rating (C with no revenue).
//
// Saga: after an ORDER_CREATED / EXCHANGE_RATE_SET at seq s changes a
// customer's revenue, if the new rating differs from the classification the
// customer is expected to have (the one a pending command asks for, else the
// current one from CUSTOMER_CLASSIFICATION_UPDATED; none at first), a command
// UPDATE_CUSTOMER_CLASSIFICATION {classification X} with key "cls:<id>:<s>:<X>" is
// recorded (replacing an older pending one). The CUSTOMER_CLASSIFICATION_
// UPDATED event carrying the pending classification completes it. Such an
// event with a "cls:" key (the saga's own) that is not the rating when it is
// applied, with nothing pending, came from other thresholds: the rating is
// recorded again, keyed "cls:<id>:<its seq>:<X>". All of
// this is decided in apply(), so it is deterministic; tick() sends, retries
// (transient errors, with backoff) and records acknowledgements and give-ups.
//
// Queries:
//   rating  {id}     -> {id, revenue, classification, assigned, pending}
//                       (classification: the rating; assigned: the current
//                       classification from events or nil; pending: the
//                       classification a command is under way for, or nil;
//                       plus error when that command was given up on);
//                       not_found for an unknown customer
//   segment {classification, offset?, limit?}
//                    -> array of the ids rated so, sorted ascending
// Change keys: the customer id.
//
// Settings: base, thresholds {A, B}, and saga_options.
// Ownership: owns its state and (lazily, in tick) its zmq context and socket.
// Thread-safety: none (read_model / saga contract).
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <zmq.hpp>

#include "readmodels/models/command_channel.h"
#include "readmodels/models/due_queue.h"
#include "readmodels/models/revenue_book.h"
#include "readmodels/models/saga_options.h"
#include "readmodels/saga.h"

namespace rill::readmodels {

class customer_analysis_model final : public saga {
 public:
  struct options {
    std::string base = "EUR";
    double threshold_a = 10000;
    double threshold_b = 1000;
    saga_options saga;
  };
  static options parse(const model_config& cfg);
  explicit customer_analysis_model(options opts);
  ~customer_analysis_model() override;

  std::string_view name() const override { return "customer_analysis"; }
  void apply(const event_view& e, change_set& changed) override;
  std::span<const event_kind> reads() const override;
  void prefetch(const event_view& e) const override;
  errc query(std::string_view q, const msgpack::object& args, packer& result,
             std::string& message) const override;
  void save(out_buffer& out) const override;
  [[nodiscard]] bool load(std::span<const char> bytes, std::string& error) override;
  std::unique_ptr<read_model> clone_empty() const override;
  saga* as_saga() override { return opts_.saga.enabled ? this : nullptr; }
  void tick(const saga_context& ctx, change_set& changed) override;
  bool busy() const override;
  uint64_t pending() const override {
    return due_.size() + req_owner_.size();
  }  // queued + in flight

  // The rating of a revenue under these options. Thread-safe.
  char rating_of(double revenue) const;

 private:
  enum class cmd_status : uint8_t { queued, acked, failed };
  struct pending_cmd {
    char classification = 0;
    std::string key;
    cmd_status st = cmd_status::queued;
    uint32_t attempts = 0;
    std::string error;
    uint64_t req = 0;  // runtime only: in flight
  };
  struct customer {
    char assigned = 0;  // from CUSTOMER_CLASSIFICATION_UPDATED; 0 = none
    std::optional<pending_cmd> pending;
  };
  struct state {
    explicit state(const std::string& base) : book(base) {}
    revenue_book book;
    std::vector<customer> customers;    // by book index
    std::set<std::string> segments[3];  // ids rated A, B, C
  };
  using time_point = std::chrono::steady_clock::time_point;

  static int segment_index(char rating) { return rating - 'A'; }
  void sync_new();  // gives customers new in the book a slot and a segment
  void on_revenue(const revenue_book::change& ch, uint64_t seq, change_set& changed);
  void on_classification(const event_view& e, change_set& changed);
  // Records UPDATE_CUSTOMER_CLASSIFICATION {cls} for customer idx, caused by
  // the event at seq (key "cls:<id>:<seq>:<cls>"), replacing a pending one.
  void record_command(uint32_t idx, std::string_view id, uint64_t seq, char cls);
  void reschedule_all();
  bool ensure_io();
  void on_reply(const command_channel::reply& r, time_point now, change_set& changed);
  void dispatch(time_point now);

  options opts_;
  state st_;
  due_queue due_;  // customers with a queued command
  absl::flat_hash_map<uint64_t, uint32_t> req_owner_;
  std::unique_ptr<zmq::context_t> zmq_;
  std::optional<command_channel> commands_;
  std::vector<command_channel::reply> replies_;
};

}  // namespace rill::readmodels
