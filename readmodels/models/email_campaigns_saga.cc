// The side effect of the email campaign saga: message files in the outbox.
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include "readmodels/models/email_campaigns_model.h"
#include "readmodels/models/email_message.h"
#include "readmodels/models/outbox_writer.h"
#include "readmodels/models/safe_name.h"

namespace rill::readmodels {

uint64_t email_campaigns_model::pending() const {
  uint64_t n = 0;
  for (const campaign& c : st_.campaigns) n += c.recipients.size() - c.sent - c.failed;
  return n;
}

void email_campaigns_model::tick(const saga_context& ctx, change_set& changed) {
  if (!opts_.enabled || ctx.replaying) return;
  uint64_t budget = opts_.emails_per_tick;
  uint32_t idx = 0;
  while (budget > 0 && due_.pop_due(ctx.now, idx)) budget -= work(idx, budget, ctx.now, changed);
}

uint64_t email_campaigns_model::work(uint32_t idx, uint64_t budget, time_point now,
                                     change_set& changed) {
  campaign& c = st_.campaigns[idx];
  const std::string dir = opts_.outbox_dir + "/" + safe_file_name(c.id);
  std::string error;
  if (!c.dir_ready) {
    if (!prepare_dir(dir, opts_.fsync, error)) {
      fail_attempt(idx, std::move(error), now);
      changed.add(c.id);
      return 1;
    }
    c.dir_ready = true;
  }
  uint64_t used = 0;
  const std::string campaign_part = safe_msgid_part(c.id);
  while (c.cursor < c.recipients.size() && used < budget) {
    recipient& r = c.recipients[c.cursor];
    if (r.st != rcpt_status::pending) {
      ++c.cursor;
      continue;
    }
    ++used;
    const std::string message_id = campaign_part + "." + safe_msgid_part(r.customer_id) + "@rill";
    const std::string text =
        format_email(email_message{opts_.from, r.email, c.subject, c.body, message_id, c.ts});
    const write_result res =
        write_once(dir, safe_file_name(r.customer_id) + ".eml", text, opts_.fsync, error);
    if (res == write_result::error) {
      fail_attempt(idx, std::move(error), now);
      changed.add(c.id);
      return used;
    }
    r.st = rcpt_status::sent;
    ++c.sent;
    ++c.cursor;
    c.attempts = 0;
    c.error.clear();
    changed.add(c.id);
  }
  if (c.cursor < c.recipients.size()) due_.schedule(idx, now);  // more next tick
  return used == 0 ? 1 : used;
}

void email_campaigns_model::fail_attempt(uint32_t idx, std::string error, time_point now) {
  campaign& c = st_.campaigns[idx];
  ++c.attempts;
  if (c.attempts == 1 || c.error != error)
    spdlog::warn("email_campaigns: campaign {}: {} (retrying with backoff)", c.id, error);
  c.error = std::move(error);
  if (opts_.retry.exhausted(c.attempts)) {
    spdlog::warn("email_campaigns: giving up on the rest of campaign {} after {} attempts", c.id,
                 c.attempts);
    for (size_t i = c.cursor; i < c.recipients.size(); ++i) {
      if (c.recipients[i].st != rcpt_status::pending) continue;
      c.recipients[i].st = rcpt_status::failed;
      ++c.failed;
    }
    c.cursor = c.recipients.size();
    return;
  }
  due_.schedule(idx, now + opts_.retry.delay(c.attempts, XXH3_64bits(c.id.data(), c.id.size())));
}

}  // namespace rill::readmodels
