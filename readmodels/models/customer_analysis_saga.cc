// The side effects of the classification saga: sending
// UPDATE_CUSTOMER_CLASSIFICATION commands and following their replies.
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include "readmodels/models/customer_analysis_model.h"
#include "readmodels/models/domain_names.h"
#include "readmodels/models/msgpack_fields.h"

namespace rill::readmodels {

bool customer_analysis_model::busy() const {
  return !due_.empty() || !req_owner_.empty();
}

bool customer_analysis_model::ensure_io() {
  if (commands_) return true;
  try {
    if (!zmq_) zmq_ = std::make_unique<zmq::context_t>(1);
  } catch (const zmq::error_t& e) {
    spdlog::error("customer_analysis: cannot create a zmq context: {}", e.what());
    return false;
  }
  req_owner_.clear();
  for (uint32_t idx = 0; idx < st_.customers.size(); ++idx) {
    auto& p = st_.customers[idx].pending;
    if (p && p->req != 0) {
      p->req = 0;
      due_.schedule(idx, time_point::min());
    }
  }
  commands_.emplace(
      *zmq_, command_channel::options{opts_.saga.command_endpoint, opts_.saga.command_timeout,
                                      opts_.saga.max_in_flight, opts_.saga.keys});
  return true;
}

void customer_analysis_model::tick(const saga_context& ctx, change_set& changed) {
  if (!opts_.saga.enabled || ctx.replaying) return;
  if (!ensure_io()) return;
  replies_.clear();
  commands_->poll(ctx.now, replies_);
  for (const auto& r : replies_) on_reply(r, ctx.now, changed);
  dispatch(ctx.now);
}

void customer_analysis_model::on_reply(const command_channel::reply& r, time_point now,
                                       change_set& changed) {
  auto owner = req_owner_.find(r.req);
  if (owner == req_owner_.end()) return;
  const uint32_t idx = owner->second;
  req_owner_.erase(owner);
  auto& p = st_.customers[idx].pending;
  if (!p || p->req != r.req) return;  // replaced or completed meanwhile
  p->req = 0;
  const std::string& id = st_.book.customer_id(idx);
  const std::string why = r.error + (r.message.empty() ? "" : ": " + r.message);
  switch (r.result) {
    case command_channel::outcome::done:
      p->st = cmd_status::acked;
      p->attempts = 0;
      p->error.clear();
      break;
    case command_channel::outcome::retry:
      ++p->attempts;
      p->error = why;
      if (opts_.saga.retry.exhausted(p->attempts)) {
        spdlog::warn("customer_analysis: giving up classifying customer {} after {} attempts: {}",
                     id, p->attempts, why);
        p->st = cmd_status::failed;
      } else {
        due_.schedule(idx,
                      now + opts_.saga.retry.delay(p->attempts, XXH3_64bits(id.data(), id.size())));
      }
      break;
    case command_channel::outcome::failed:
      spdlog::warn("customer_analysis: rill-core refused {} for customer {}: {}",
                   domain::update_classification, id, why);
      p->st = cmd_status::failed;
      p->error = why;
      break;
  }
  changed.add(id);
}

void customer_analysis_model::dispatch(time_point now) {
  uint32_t idx = 0;
  out_buffer data;
  for (size_t n = 0; n < opts_.saga.max_per_tick && commands_->can_send(); ++n) {
    if (!due_.pop_due(now, idx)) break;
    auto& p = st_.customers[idx].pending;
    if (!p || p->st != cmd_status::queued || p->req != 0) continue;
    const std::string& id = st_.book.customer_id(idx);
    data.clear();
    packer pk(data);
    pk.pack_map(1);
    pack_str(pk, domain::f_classification);
    pack_str(pk, std::string_view(&p->classification, 1));
    const uint64_t req = commands_->send(domain::update_classification, domain::customer, id,
                                         p->key, data.span(), now);
    if (req != 0) {
      p->req = req;
      req_owner_.emplace(req, idx);
      continue;
    }
    ++p->attempts;
    p->error = "rill-core is not reachable";
    if (opts_.saga.retry.exhausted(p->attempts)) {
      spdlog::warn("customer_analysis: giving up classifying customer {} after {} attempts: {}", id,
                   p->attempts, p->error);
      p->st = cmd_status::failed;
      continue;
    }
    due_.schedule(idx,
                  now + opts_.saga.retry.delay(p->attempts, XXH3_64bits(id.data(), id.size())));
  }
}

}  // namespace rill::readmodels
