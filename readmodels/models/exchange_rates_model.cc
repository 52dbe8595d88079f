#include "readmodels/models/exchange_rates_model.h"

#include "readmodels/models/domain_names.h"
#include "readmodels/models/msgpack_fields.h"
#include "readmodels/models/query_args.h"
#include "readmodels/models/settings.h"
#include "readmodels/models/snapshot_reader.h"

namespace rill::readmodels {
namespace {

constexpr std::string_view magic = "rill.exchange_rates";
constexpr uint64_t format_version = 1;
constexpr uint64_t status_count = 6;

}  // namespace

exchange_rates_model::options exchange_rates_model::parse(const model_config& cfg) {
  settings_reader r("exchange_rates", cfg.settings);
  options o;
  if (!normalize_currency(r.string("base", o.base), o.base))
    r.fail("base", "must be three letters");
  o.rates_timeout = std::chrono::milliseconds(r.uint("rates_timeout_ms", 1000, 1, 3'600'000));
  o.rates_max_in_flight = r.uint("rates_max_in_flight", o.rates_max_in_flight, 1, 10'000);
  o.saga = saga_options::parse(r, cfg);
  o.rates_endpoint = endpoint_or_default(cfg.rates_endpoint, cfg.data_dir, "rates");
  if (o.saga.enabled && o.rates_endpoint.empty())
    r.fail("saga", "needs a rates endpoint or a data directory");
  if (o.saga.enabled) require_keys(r, o.rates_endpoint, o.saga.keys.get());
  r.finish();
  return o;
}

exchange_rates_model::exchange_rates_model(options opts) : opts_(std::move(opts)) {}

exchange_rates_model::~exchange_rates_model() {
  // Sockets before their context.
  commands_.reset();
  rates_.reset();
}

std::string_view exchange_rates_model::status_name(status st) {
  switch (st) {
    case status::base:
      return "base";
    case status::waiting:
      return "waiting";
    case status::sending:
      return "sending";
    case status::sent:
      return "sent";
    case status::done:
      return "done";
    case status::failed:
      return "failed";
  }
  return "failed";
}

void exchange_rates_model::set_status(uint32_t idx, status st) {
  order& o = orders_[idx];
  if (o.st == status::waiting && st != status::waiting) {
    auto it = waiting_.find(o.currency);
    if (it != waiting_.end()) {
      it->second.erase(idx);
      if (it->second.empty()) waiting_.erase(it);
    }
    o.in_lookup = false;
  }
  if (st == status::waiting) waiting_[o.currency].insert(idx);
  if (st != status::waiting && st != status::sending) due_.cancel(idx);
  if (st != status::sending) o.req = 0;
  o.st = st;
  if (st == status::waiting || st == status::sending || st == status::sent) {
    pending_.insert(idx);
  } else {
    pending_.erase(idx);
  }
}

void exchange_rates_model::prefetch(const event_view& e) const {
  if (e.agg == domain::order) index_.prefetch(e.id);
}

std::span<const event_kind> exchange_rates_model::reads() const {
  static constexpr event_kind kinds[] = {
      {domain::order, domain::order_created},
      {domain::order, domain::exchange_rate_set},
  };
  return kinds;
}

void exchange_rates_model::apply(const event_view& e, change_set& changed) {
  if (e.agg != domain::order) return;
  if (e.type == domain::order_created) {
    std::string_view currency_raw;
    std::string currency;
    if (index_.contains(e.id) || !get_str(e.data, domain::f_currency, currency_raw) ||
        !normalize_currency(currency_raw, currency))
      return;
    const auto idx = static_cast<uint32_t>(orders_.size());
    order o;
    o.id.assign(e.id);
    o.currency = std::move(currency);
    o.seq = e.seq;
    const bool base = o.currency == opts_.base;
    o.st = base ? status::base : status::done;  // set_status below does the indexing
    o.rate = base ? 1 : 0;
    index_.emplace(o.id, idx);
    orders_.push_back(std::move(o));
    if (!base) {
      set_status(idx, status::waiting);
      due_.schedule(idx, time_point::min());
    }
    changed.add(e.id);
  } else if (e.type == domain::exchange_rate_set) {
    auto it = index_.find(e.id);
    double rate = 0;
    std::string_view base_raw;
    std::string base;
    if (it == index_.end() || !get_number(e.data, domain::f_rate, rate) || !(rate > 0) ||
        !get_str(e.data, domain::f_base, base_raw) || !normalize_currency(base_raw, base) ||
        base != opts_.base)
      return;
    order& o = orders_[it->second];
    o.rate = rate;
    if (o.st != status::base) {
      o.error.clear();
      set_status(it->second, status::done);
    }
    changed.add(e.id);
  }
}

errc exchange_rates_model::query(std::string_view q, const msgpack::object& args, packer& result,
                                 std::string& message) const {
  query_args a(args);
  if (q == "get") {
    std::string id;
    if (errc e = a.check_known({"id"}, message); e != errc::ok) return e;
    if (errc e = a.required_string("id", id, message); e != errc::ok) return e;
    auto it = index_.find(id);
    if (it == index_.end()) {
      message = "no order '" + id + "'";
      return errc::not_found;
    }
    const order& o = orders_[it->second];
    const bool has_rate = o.st == status::base || o.st == status::done || o.st == status::sending ||
                          o.st == status::sent;
    const bool has_error = !o.error.empty();
    result.pack_map(4 + (has_rate ? 1 : 0) + (has_error ? 1 : 0));
    pack_str(result, "id");
    pack_str(result, o.id);
    pack_str(result, "currency");
    pack_str(result, o.currency);
    pack_str(result, "state");
    pack_str(result, status_name(o.st));
    pack_str(result, "attempts");
    result.pack_uint32(o.attempts);
    if (has_rate) {
      pack_str(result, "rate");
      pack_number(result, o.rate);
    }
    if (has_error) {
      pack_str(result, "error");
      pack_str(result, o.error);
    }
    return errc::ok;
  }
  if (q == "pending") {
    if (errc e = a.check_known({}, message); e != errc::ok) return e;
    result.pack_array(static_cast<uint32_t>(pending_.size()));
    for (uint32_t idx : pending_) pack_str(result, orders_[idx].id);
    return errc::ok;
  }
  message = "exchange_rates answers get and pending";
  return errc::unknown_query;
}

void exchange_rates_model::save(out_buffer& out) const {
  packer pk(out);
  pk.pack_array(2);
  write_header(pk, magic, format_version);
  pk.pack_array(static_cast<uint32_t>(orders_.size()));
  for (const order& o : orders_) {
    pk.pack_array(7);
    pack_str(pk, o.id);
    pack_str(pk, o.currency);
    pk.pack_uint64(o.seq);
    pk.pack_uint8(static_cast<uint8_t>(o.st));
    pk.pack_double(o.rate);
    pk.pack_uint32(o.attempts);
    pack_str(pk, o.error);
  }
}

bool exchange_rates_model::load(std::span<const char> bytes, std::string& error) {
  snapshot_reader r(bytes);
  std::vector<order> orders;
  absl::flat_hash_map<std::string, uint32_t, string_hash, string_eq> index;
  const uint32_t parts = r.array();
  r.header(magic, format_version);  // first, so that another model's snapshot is named
  if (parts != 2) r.fail("bad snapshot layout");
  const uint32_t n = r.array();
  orders.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    if (r.array() != 7) r.fail("bad order record");
    order o;
    o.id = r.str();
    o.currency = r.str();
    o.seq = r.u64();
    const uint64_t st = r.u64();
    o.rate = r.number();
    const uint64_t attempts = r.u64();
    o.error = r.str();
    if (!r.ok()) break;
    if (st >= status_count || attempts > UINT32_MAX) {
      r.fail("bad order state");
      break;
    }
    o.st = static_cast<status>(st);
    o.attempts = static_cast<uint32_t>(attempts);
    if (!index.emplace(o.id, i).second) r.fail("duplicate order id");
    orders.push_back(std::move(o));
  }
  r.expect_end();
  if (!r.ok()) {
    error = "exchange_rates: " + r.error();
    return false;
  }
  orders_ = std::move(orders);
  index_ = std::move(index);
  reindex();
  return true;
}

void exchange_rates_model::reindex() {
  pending_.clear();
  waiting_.clear();
  lookups_.clear();
  due_.clear();
  req_owner_.clear();
  for (uint32_t idx = 0; idx < orders_.size(); ++idx) {
    order& o = orders_[idx];
    o.req = 0;
    o.in_lookup = false;
    const status st = o.st;
    if (st == status::waiting || st == status::sending || st == status::sent) {
      o.st = status::done;  // so that set_status indexes it from scratch
      set_status(idx, st);
    }
    if (st == status::waiting || st == status::sending) due_.schedule(idx, time_point::min());
  }
  // Lookups and commands in flight on the old state's sockets no longer
  // belong to anybody: start the channels afresh.
  commands_.reset();
  rates_.reset();
}

std::unique_ptr<read_model> exchange_rates_model::clone_empty() const {
  return std::make_unique<exchange_rates_model>(opts_);
}

}  // namespace rill::readmodels
