// The side effects of the exchange-rate saga: rate lookups and commands.
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include "readmodels/models/domain_names.h"
#include "readmodels/models/exchange_rates_model.h"
#include "readmodels/models/msgpack_fields.h"

namespace rill::readmodels {

bool exchange_rates_model::busy() const {
  return !due_.empty() || !lookups_.empty() || !req_owner_.empty();
}

bool exchange_rates_model::ensure_io() {
  if (commands_ && rates_) return true;
  try {
    if (!zmq_) zmq_ = std::make_unique<zmq::context_t>(1);
  } catch (const zmq::error_t& e) {
    spdlog::error("exchange_rates: cannot create a zmq context: {}", e.what());
    return false;
  }
  // Whatever was in flight on earlier channels is lost with them.
  lookups_.clear();
  req_owner_.clear();
  for (uint32_t idx : pending_) {
    order& o = orders_[idx];
    if ((o.st == status::waiting && o.in_lookup) || (o.st == status::sending && o.req != 0)) {
      o.in_lookup = false;
      o.req = 0;
      due_.schedule(idx, time_point::min());
    }
  }
  rates_.emplace(*zmq_, rates_channel::options{opts_.rates_endpoint, opts_.rates_timeout,
                                               opts_.rates_max_in_flight, opts_.saga.keys});
  commands_.emplace(
      *zmq_, command_channel::options{opts_.saga.command_endpoint, opts_.saga.command_timeout,
                                      opts_.saga.max_in_flight, opts_.saga.keys});
  return true;
}

void exchange_rates_model::tick(const saga_context& ctx, change_set& changed) {
  if (!opts_.saga.enabled || ctx.replaying) return;
  if (!ensure_io()) return;
  answers_.clear();
  rates_->poll(ctx.now, answers_);
  for (const auto& a : answers_) on_answer(a, ctx.now, changed);
  replies_.clear();
  commands_->poll(ctx.now, replies_);
  for (const auto& r : replies_) on_reply(r, ctx.now, changed);
  dispatch(ctx.now);
}

void exchange_rates_model::on_answer(const rates_channel::answer& a, time_point now,
                                     change_set& changed) {
  lookups_.erase(a.currency);
  auto it = waiting_.find(a.currency);
  if (it == waiting_.end()) return;
  // Copy: the status changes below edit waiting_.
  std::vector<uint32_t> orders(it->second.begin(), it->second.end());
  if (a.result == rates_channel::outcome::ok) {
    if (rates_down_) spdlog::info("exchange_rates: the rates service answers again");
    rates_down_ = false;
    for (uint32_t idx : orders) {
      order& o = orders_[idx];
      o.rate = a.rate;
      o.attempts = 0;
      o.error.clear();
      set_status(idx, status::sending);
      due_.schedule(idx, now);
      changed.add(o.id);
    }
  } else if (a.result == rates_channel::outcome::not_found) {
    spdlog::warn("exchange_rates: no rate for {} in {} ({}); giving up on {} order(s)", a.currency,
                 opts_.base, a.error, orders.size());
    for (uint32_t idx : orders) {
      give_up(idx, "rate lookup: " + a.error);
      changed.add(orders_[idx].id);
    }
  } else {
    if (!rates_down_)
      spdlog::warn("exchange_rates: rate lookup failed ({}); retrying with backoff", a.error);
    rates_down_ = true;
    for (uint32_t idx : orders) {
      order& o = orders_[idx];
      if (!o.in_lookup) continue;  // in backoff already, not part of this lookup
      o.in_lookup = false;
      fail_attempt(idx, "rate lookup: " + a.error, now);
      changed.add(o.id);
    }
  }
}

void exchange_rates_model::on_reply(const command_channel::reply& r, time_point now,
                                    change_set& changed) {
  auto owner = req_owner_.find(r.req);
  if (owner == req_owner_.end()) return;
  const uint32_t idx = owner->second;
  req_owner_.erase(owner);
  order& o = orders_[idx];
  if (o.st != status::sending || o.req != r.req) return;  // settled meanwhile
  o.req = 0;
  switch (r.result) {
    case command_channel::outcome::done:
      o.attempts = 0;
      o.error.clear();
      set_status(idx, status::sent);
      break;
    case command_channel::outcome::retry:
      fail_attempt(idx, r.error + (r.message.empty() ? "" : ": " + r.message), now);
      break;
    case command_channel::outcome::failed:
      spdlog::warn("exchange_rates: rill-core refused SET_EXCHANGE_RATE for order {}: {} {}", o.id,
                   r.error, r.message);
      give_up(idx, r.error + (r.message.empty() ? "" : ": " + r.message));
      break;
  }
  changed.add(o.id);
}

void exchange_rates_model::fail_attempt(uint32_t idx, std::string error, time_point now) {
  order& o = orders_[idx];
  ++o.attempts;
  o.error = std::move(error);
  if (opts_.saga.retry.exhausted(o.attempts)) {
    spdlog::warn("exchange_rates: giving up on order {} after {} attempts: {}", o.id, o.attempts,
                 o.error);
    give_up(idx, o.error);
    return;
  }
  const uint64_t salt = XXH3_64bits(o.id.data(), o.id.size());
  due_.schedule(idx, now + opts_.saga.retry.delay(o.attempts, salt));
}

void exchange_rates_model::give_up(uint32_t idx, std::string error) {
  orders_[idx].error = std::move(error);
  set_status(idx, status::failed);
}

bool exchange_rates_model::send_command(uint32_t idx, time_point now) {
  order& o = orders_[idx];
  out_buffer data;
  packer pk(data);
  pk.pack_map(2);
  pack_str(pk, domain::f_rate);
  pk.pack_double(o.rate);
  pack_str(pk, domain::f_base);
  pack_str(pk, opts_.base);
  // The key names the base when it is not the default: after a change of
  // base (a rebuild from seq 1) the same order's command asks for another
  // base's rate, and the old key would be answered dup with the old base's
  // event, leaving the order waiting for ever (an outside probe).
  std::string key = "fx:" + o.id + ":" + std::to_string(o.seq);
  if (opts_.base != kDefaultBase) key.append(":").append(opts_.base);
  const uint64_t req =
      commands_->send(domain::set_exchange_rate, domain::order, o.id, key, data.span(), now);
  if (req == 0) return false;
  o.req = req;
  req_owner_.emplace(req, idx);
  return true;
}

void exchange_rates_model::dispatch(time_point now) {
  std::vector<uint32_t> deferred;
  uint32_t idx = 0;
  for (size_t n = 0; n < opts_.saga.max_per_tick; ++n) {
    if (!rates_->can_send() && !commands_->can_send()) break;
    if (!due_.pop_due(now, idx)) break;
    order& o = orders_[idx];
    if (o.st == status::waiting) {
      if (lookups_.contains(o.currency)) {
        o.in_lookup = true;
      } else if (!rates_->can_send()) {
        deferred.push_back(idx);
      } else if (rates_->send(opts_.base, o.currency, now)) {
        lookups_.insert(o.currency);
        o.in_lookup = true;
      } else {
        fail_attempt(idx, "rate lookup: the rates service is not reachable", now);
      }
    } else if (o.st == status::sending) {
      if (!commands_->can_send()) {
        deferred.push_back(idx);
      } else if (!send_command(idx, now)) {
        fail_attempt(idx, "rill-core is not reachable", now);
      }
    }
  }
  for (uint32_t d : deferred) due_.schedule(d, now);
}

}  // namespace rill::readmodels
