#include "readmodels/models/revenue_book.h"

#include <algorithm>
#include <limits>

#include "readmodels/models/domain_names.h"
#include "readmodels/models/msgpack_fields.h"
#include "readmodels/models/settings.h"

namespace rill::readmodels {

namespace {

// Revenue saturates at the largest finite double: a sum or product of huge
// (valid, finite) amounts must not become inf, which a snapshot cannot hold
// (snapshot_reader refuses non-finite numbers), nor inf - inf = NaN.
double saturate(double v) {
  constexpr double max = std::numeric_limits<double>::max();
  return std::clamp(v, -max, max);
}

}  // namespace

uint32_t revenue_book::customer(std::string_view id) {
  auto it = index_.find(id);
  if (it != index_.end()) return it->second;
  const auto c = static_cast<uint32_t>(ids_.size());
  ids_.emplace_back(id);
  revenue_.push_back(0);
  index_.emplace(ids_.back(), c);
  return c;
}

std::optional<uint32_t> revenue_book::find_customer(std::string_view id) const {
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

void revenue_book::prefetch(const event_view& e) const {
  if (e.agg != domain::order) return;
  orders_.prefetch(e.id);
  std::string_view customer_id;
  if (e.type == domain::order_created && get_str(e.data, domain::f_customer_id, customer_id))
    index_.prefetch(customer_id);
}

bool revenue_book::apply(const event_view& e, change& c) {
  if (e.agg != domain::order) return false;
  if (e.type == domain::order_created) return on_order(e, c);
  if (e.type == domain::exchange_rate_set) return on_rate(e, c);
  return false;
}

bool revenue_book::on_order(const event_view& e, change& c) {
  std::string_view customer_id, currency_raw;
  std::string currency;
  double amount = 0;
  if (orders_.contains(e.id) || !get_str(e.data, domain::f_customer_id, customer_id) ||
      customer_id.empty() || !get_number(e.data, domain::f_amount, amount) || !(amount > 0) ||
      !get_str(e.data, domain::f_currency, currency_raw) ||
      !normalize_currency(currency_raw, currency))
    return false;
  order o;
  o.customer = customer(customer_id);
  o.amount = amount;
  const bool base = currency == base_;
  if (base) {
    o.rate = 1;
    o.counted = true;
  }
  orders_.emplace(e.id, o);
  if (!base) return false;
  c.customer = o.customer;
  c.before = revenue_[o.customer];
  revenue_[o.customer] = saturate(revenue_[o.customer] + amount);
  c.after = revenue_[o.customer];
  return true;
}

bool revenue_book::on_rate(const event_view& e, change& c) {
  auto it = orders_.find(e.id);
  double rate = 0;
  std::string_view base_raw;
  std::string base;
  if (it == orders_.end() || !get_number(e.data, domain::f_rate, rate) || !(rate > 0) ||
      !get_str(e.data, domain::f_base, base_raw) || !normalize_currency(base_raw, base) ||
      base != base_)
    return false;
  order& o = it->second;
  const double old_part = o.counted ? saturate(o.amount * o.rate) : 0;
  o.rate = rate;
  o.counted = true;
  const double new_part = saturate(o.amount * o.rate);
  if (new_part == old_part) return false;
  c.customer = o.customer;
  c.before = revenue_[o.customer];
  revenue_[o.customer] = saturate(revenue_[o.customer] + (new_part - old_part));
  c.after = revenue_[o.customer];
  return true;
}

void revenue_book::save(packer& pk) const {
  pk.pack_array(2);
  pk.pack_array(static_cast<uint32_t>(ids_.size()));
  for (size_t i = 0; i < ids_.size(); ++i) {
    pk.pack_array(2);
    pack_str(pk, ids_[i]);
    pk.pack_double(revenue_[i]);
  }
  // Sorted by id so that equal states save equal bytes.
  std::vector<const std::pair<const std::string, order>*> sorted;
  sorted.reserve(orders_.size());
  for (const auto& kv : orders_) sorted.push_back(&kv);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  pk.pack_array(static_cast<uint32_t>(sorted.size()));
  for (const auto* kv : sorted) {
    pk.pack_array(5);
    pack_str(pk, kv->first);
    pk.pack_uint32(kv->second.customer);
    pk.pack_double(kv->second.amount);
    pk.pack_double(kv->second.rate);
    pk.pack(kv->second.counted);
  }
}

void revenue_book::load(snapshot_reader& r) {
  ids_.clear();
  revenue_.clear();
  index_.clear();
  orders_.clear();
  if (r.array() != 2) r.fail("bad revenue book");
  const uint32_t n = r.array();
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    if (r.array() != 2) r.fail("bad customer revenue");
    std::string id = r.str();
    double rev = r.number();
    if (!r.ok()) return;
    if (index_.contains(id)) return r.fail("duplicate customer id");
    ids_.push_back(std::move(id));
    revenue_.push_back(rev);
    index_.emplace(ids_.back(), i);
  }
  const uint32_t m = r.array();
  orders_.reserve(m);
  for (uint32_t i = 0; i < m && r.ok(); ++i) {
    if (r.array() != 5) r.fail("bad order record");
    std::string id = r.str();
    order o;
    const uint64_t c = r.u64();
    o.amount = r.number();
    o.rate = r.number();
    o.counted = r.boolean();
    if (!r.ok()) return;
    if (c >= ids_.size()) return r.fail("order of an unknown customer");
    o.customer = static_cast<uint32_t>(c);
    if (!orders_.emplace(std::move(id), o).second) return r.fail("duplicate order id");
  }
}

}  // namespace rill::readmodels
