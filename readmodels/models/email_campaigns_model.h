#pragma once
// email_campaigns: the email campaign saga (DOMAIN.md). Keeps every
// customer's email and classification from the customer events. On
// EMAIL_CAMPAIGN_STARTED the recipients are fixed (in apply, so it is
// deterministic): the customers whose classification equals the segment at
// that seq, in creation order, each with the email address they had then.
// tick() then writes one RFC 5322 message per recipient to
//   <outbox>/<campaign id>/<customer id>.eml      (ids made safe: safe_name.h)
// through outbox_writer (temp file, fsync, link, so a file is written once
// and an existing one counts as sent and is never rewritten). A recipient
// whose address cannot go into a header safely (valid_address) is `failed`
// at once; I/O errors are retried with capped exponential backoff.
//
// Queries:
//   get {id} -> {id, segment, subject, recipients (count), recipient_ids
//                (array, creation order), sent (count), failed (count),
//                failed_ids (array: invalid address, or given up), error
//                (the last I/O error while it lasts, or nil)}
// Change keys: the campaign id.
//
// Settings: saga, from (rill@localhost), outbox_dir (D/outbox),
// emails_per_tick (32), fsync (true), retry_* and max_attempts.
// Ownership: owns its state. Thread-safety: none (read_model / saga contract).
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "core/string_hash.h"
#include "readmodels/models/due_queue.h"
#include "readmodels/models/retry_policy.h"
#include "readmodels/saga.h"

namespace rill::readmodels {

class email_campaigns_model final : public saga {
 public:
  struct options {
    bool enabled = true;
    std::string from = "rill@localhost";
    std::string outbox_dir;  // resolved: never empty when enabled
    uint64_t emails_per_tick = 32;
    bool fsync = true;
    retry_policy retry;
  };
  static options parse(const model_config& cfg);
  explicit email_campaigns_model(options opts) : opts_(std::move(opts)) {}

  std::string_view name() const override { return "email_campaigns"; }
  void apply(const event_view& e, change_set& changed) override;
  std::span<const event_kind> reads() const override;
  errc query(std::string_view q, const msgpack::object& args, packer& result,
             std::string& message) const override;
  void save(out_buffer& out) const override;
  [[nodiscard]] bool load(std::span<const char> bytes, std::string& error) override;
  std::unique_ptr<read_model> clone_empty() const override;
  saga* as_saga() override { return opts_.enabled ? this : nullptr; }
  void tick(const saga_context& ctx, change_set& changed) override;
  bool busy() const override { return !due_.empty(); }
  uint64_t pending() const override;  // recipients not yet sent nor failed

 private:
  enum class rcpt_status : uint8_t { pending, sent, failed };
  struct recipient {
    std::string customer_id, email;
    rcpt_status st = rcpt_status::pending;
  };
  struct campaign {
    std::string id, subject, body;
    char segment = 'C';
    uint64_t ts = 0;  // of EMAIL_CAMPAIGN_STARTED: the messages' Date
    std::vector<recipient> recipients;
    uint32_t attempts = 0;  // failed attempts in a row
    std::string error;      // the last I/O error; cleared by a success
    // Derived from recipients.
    uint64_t sent = 0, failed = 0;
    // Runtime only.
    size_t cursor = 0;  // recipients before it are settled
    bool dir_ready = false;
  };
  struct customer {
    std::string id, email;
    char classification = 0;
  };
  struct state {
    std::vector<customer> customers;  // creation order
    absl::flat_hash_map<std::string, uint32_t, string_hash, string_eq> customer_index;
    std::vector<campaign> campaigns;
    absl::flat_hash_map<std::string, uint32_t, string_hash, string_eq> campaign_index;
  };
  using time_point = std::chrono::steady_clock::time_point;

  void on_customer(const event_view& e, change_set& changed);
  void on_campaign(const event_view& e, change_set& changed);
  // Writes up to `budget` messages of campaign idx; returns how many files it touched.
  uint64_t work(uint32_t idx, uint64_t budget, time_point now, change_set& changed);
  void fail_attempt(uint32_t idx, std::string error, time_point now);

  options opts_;
  state st_;
  due_queue due_;  // campaigns with pending recipients
};

}  // namespace rill::readmodels
