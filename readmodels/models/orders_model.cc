#include "readmodels/models/orders_model.h"

#include "readmodels/models/domain_names.h"
#include "readmodels/models/msgpack_fields.h"
#include "readmodels/models/query_args.h"
#include "readmodels/models/settings.h"
#include "readmodels/models/snapshot_reader.h"

namespace rill::readmodels {
namespace {

constexpr std::string_view magic = "rill.orders";
constexpr uint64_t format_version = 1;

}  // namespace

orders_model::options orders_model::parse(const nlohmann::json& settings) {
  settings_reader r("orders", settings);
  options o;
  if (!normalize_currency(r.string("base", o.base), o.base))
    r.fail("base", "must be three letters");
  r.finish();
  return o;
}

uint32_t orders_model::customer_of(state& st, std::string_view id) {
  auto it = st.customer_index.find(id);
  if (it != st.customer_index.end()) return it->second;
  const auto c = static_cast<uint32_t>(st.customers.size());
  st.customers.push_back(customer{std::string(id), {}, false, {}});
  st.customer_index.emplace(std::string(id), c);
  return c;
}

void orders_model::apply(const event_view& e, change_set& changed) {
  if (e.agg == domain::order) {
    if (e.type == domain::order_created)
      on_order(e, changed);
    else if (e.type == domain::exchange_rate_set)
      on_rate(e, changed);
    return;
  }
  if (e.agg != domain::customer ||
      (e.type != domain::customer_created && e.type != domain::customer_updated))
    return;
  std::string_view name;
  if (!get_str(e.data, domain::f_name, name)) return;
  if (e.type == domain::customer_updated && !st_.customer_index.contains(e.id)) return;
  customer& c = st_.customers[customer_of(st_, e.id)];
  c.name.assign(name);
  c.has_name = true;
  changed.add(e.id);
}

void orders_model::on_order(const event_view& e, change_set& changed) {
  std::string_view customer_id, currency;
  std::string normalized;
  double amount = 0;
  if (st_.order_index.contains(e.id) || !get_str(e.data, domain::f_customer_id, customer_id) ||
      customer_id.empty() || !get_number(e.data, domain::f_amount, amount) || !(amount > 0) ||
      !get_str(e.data, domain::f_currency, currency) || !normalize_currency(currency, normalized))
    return;
  order o;
  o.id.assign(e.id);
  o.currency.assign(currency);
  o.customer = customer_of(st_, customer_id);
  o.amount = amount;
  if (normalized == opts_.base) {
    o.rate = 1;
    o.has_rate = true;
  }
  const auto idx = static_cast<uint32_t>(st_.orders.size());
  st_.customers[o.customer].orders.push_back(idx);
  st_.order_index.emplace(o.id, idx);
  st_.orders.push_back(std::move(o));
  changed.add(e.id);
  changed.add(customer_id);
}

void orders_model::on_rate(const event_view& e, change_set& changed) {
  auto it = st_.order_index.find(e.id);
  double rate = 0;
  std::string_view base_raw;
  std::string base;
  if (it == st_.order_index.end() || !get_number(e.data, domain::f_rate, rate) || !(rate > 0) ||
      !get_str(e.data, domain::f_base, base_raw) || !normalize_currency(base_raw, base) ||
      base != opts_.base)
    return;
  order& o = st_.orders[it->second];
  o.rate = rate;
  o.has_rate = true;
  changed.add(e.id);
  changed.add(st_.customers[o.customer].id);
}

void orders_model::pack_order(packer& pk, const order& o) const {
  const customer& c = st_.customers[o.customer];
  pk.pack_map(o.has_rate ? 7 : 5);
  pack_str(pk, "id");
  pack_str(pk, o.id);
  pack_str(pk, "customer_id");
  pack_str(pk, c.id);
  pack_str(pk, "customer_name");
  write_optional_str(pk, c.has_name, c.name);
  pack_str(pk, "amount");
  pack_number(pk, o.amount);
  pack_str(pk, "currency");
  pack_str(pk, o.currency);
  if (o.has_rate) {
    pack_str(pk, "rate");
    pack_number(pk, o.rate);
    pack_str(pk, "amount_base");
    pack_number(pk, o.amount * o.rate);
  }
}

errc orders_model::query(std::string_view q, const msgpack::object& args, packer& result,
                         std::string& message) const {
  query_args a(args);
  if (q == "get") {
    std::string id;
    if (errc e = a.check_known({"id"}, message); e != errc::ok) return e;
    if (errc e = a.required_string("id", id, message); e != errc::ok) return e;
    auto it = st_.order_index.find(id);
    if (it == st_.order_index.end()) {
      message = "no order '" + id + "'";
      return errc::not_found;
    }
    pack_order(result, st_.orders[it->second]);
    return errc::ok;
  }
  if (q == "by_customer") {
    std::string id;
    uint64_t offset = 0, limit = UINT64_MAX;
    if (errc e = a.check_known({"customer_id", "offset", "limit"}, message); e != errc::ok)
      return e;
    if (errc e = a.required_string("customer_id", id, message); e != errc::ok) return e;
    if (errc e = a.optional_uint("offset", UINT64_MAX, offset, message); e != errc::ok) return e;
    if (errc e = a.optional_uint("limit", UINT64_MAX, limit, message); e != errc::ok) return e;
    auto it = st_.customer_index.find(id);
    if (it == st_.customer_index.end()) {
      result.pack_array(0);
      return errc::ok;
    }
    const std::vector<uint32_t>& list = st_.customers[it->second].orders;
    const uint64_t begin = offset < list.size() ? offset : list.size();
    const uint64_t end = list.size() - begin < limit ? list.size() : begin + limit;
    result.pack_array(static_cast<uint32_t>(end - begin));
    for (uint64_t i = begin; i < end; ++i) pack_order(result, st_.orders[list[i]]);
    return errc::ok;
  }
  message = "orders answers get and by_customer";
  return errc::unknown_query;
}

void orders_model::save(out_buffer& out) const {
  packer pk(out);
  pk.pack_array(3);
  write_header(pk, magic, format_version);
  pk.pack_array(static_cast<uint32_t>(st_.customers.size()));
  for (const customer& c : st_.customers) {
    pk.pack_array(2);
    pack_str(pk, c.id);
    write_optional_str(pk, c.has_name, c.name);
  }
  pk.pack_array(static_cast<uint32_t>(st_.orders.size()));
  for (const order& o : st_.orders) {
    pk.pack_array(6);
    pack_str(pk, o.id);
    pk.pack_uint32(o.customer);
    pk.pack_double(o.amount);
    pack_str(pk, o.currency);
    pk.pack(o.has_rate);
    pk.pack_double(o.rate);
  }
}

bool orders_model::load(std::span<const char> bytes, std::string& error) {
  snapshot_reader r(bytes);
  state st;
  const uint32_t parts = r.array();
  r.header(magic, format_version);  // first, so that another model's snapshot is named
  if (parts != 3) r.fail("bad snapshot layout");
  const uint32_t nc = r.array();
  for (uint32_t i = 0; i < nc && r.ok(); ++i) {
    if (r.array() != 2) r.fail("bad customer record");
    customer c;
    c.id = r.str();
    c.name = r.optional_str(c.has_name);
    if (!r.ok()) break;
    if (!st.customer_index.emplace(c.id, i).second) r.fail("duplicate customer id");
    st.customers.push_back(std::move(c));
  }
  const uint32_t no = r.array();
  st.orders.reserve(no);
  for (uint32_t i = 0; i < no && r.ok(); ++i) {
    if (r.array() != 6) r.fail("bad order record");
    order o;
    o.id = r.str();
    const uint64_t c = r.u64();
    o.amount = r.number();
    o.currency = r.str();
    o.has_rate = r.boolean();
    o.rate = r.number();
    if (!r.ok()) break;
    if (c >= st.customers.size()) {
      r.fail("order of an unknown customer");
      break;
    }
    o.customer = static_cast<uint32_t>(c);
    if (!st.order_index.emplace(o.id, i).second) r.fail("duplicate order id");
    st.customers[o.customer].orders.push_back(i);
    st.orders.push_back(std::move(o));
  }
  r.expect_end();
  if (!r.ok()) {
    error = "orders: " + r.error();
    return false;
  }
  st_ = std::move(st);
  return true;
}

std::unique_ptr<read_model> orders_model::clone_empty() const {
  return std::make_unique<orders_model>(opts_);
}

}  // namespace rill::readmodels
