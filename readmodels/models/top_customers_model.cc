#include "readmodels/models/top_customers_model.h"

#include "readmodels/models/domain_names.h"
#include "readmodels/models/msgpack_fields.h"
#include "readmodels/models/query_args.h"
#include "readmodels/models/settings.h"
#include "readmodels/models/snapshot_reader.h"

namespace rill::readmodels {
namespace {

constexpr std::string_view magic = "rill.top_customers";
constexpr uint64_t format_version = 1;

}  // namespace

top_customers_model::options top_customers_model::parse(const nlohmann::json& settings) {
  settings_reader r("top_customers", settings);
  options o;
  if (!normalize_currency(r.string("base", o.base), o.base))
    r.fail("base", "must be three letters");
  o.max_n = r.uint("max_n", o.max_n, 1, 1'000'000);
  r.finish();
  return o;
}

void top_customers_model::sync_new(state& st) {
  for (auto c = static_cast<uint32_t>(st.names.size()); c < st.book.customers(); ++c) {
    st.names.emplace_back();
    st.ranking.insert({st.book.revenue(c), st.book.customer_id(c)});
  }
}

void top_customers_model::prefetch(const event_view& e) const { st_.book.prefetch(e); }

std::span<const event_kind> top_customers_model::reads() const {
  static constexpr event_kind kinds[] = {
      {domain::customer, domain::customer_created},
      {domain::customer, domain::customer_updated},
      {domain::order, domain::order_created},
      {domain::order, domain::exchange_rate_set},
  };
  return kinds;
}

void top_customers_model::apply(const event_view& e, change_set& changed) {
  if (e.agg == domain::customer) {
    std::string_view name;
    if ((e.type != domain::customer_created && e.type != domain::customer_updated) ||
        !get_str(e.data, domain::f_name, name))
      return;
    if (e.type == domain::customer_updated && !st_.book.find_customer(e.id)) return;
    const uint32_t c = st_.book.customer(e.id);
    sync_new(st_);
    st_.names[c].assign(name);
    changed.add(e.id);
    return;
  }
  const size_t known = st_.names.size();
  revenue_book::change ch;
  const bool moved = st_.book.apply(e, ch);
  sync_new(st_);  // an order may name a customer the book had not seen
  if (!moved) return;
  const std::string& id = st_.book.customer_id(ch.customer);
  if (ch.customer >= known) {  // just ranked with its current revenue
    changed.add(id);
    return;
  }
  auto node = st_.ranking.extract(rank_key{ch.before, id});
  if (node.empty()) {
    st_.ranking.insert({ch.after, id});
  } else {
    node.value().revenue = ch.after;
    st_.ranking.insert(std::move(node));
  }
  changed.add(id);
}

errc top_customers_model::query(std::string_view q, const msgpack::object& args, packer& result,
                                std::string& message) const {
  if (q != "top") {
    message = "top_customers answers top";
    return errc::unknown_query;
  }
  query_args a(args);
  uint64_t n = 0;
  if (errc e = a.check_known({"n"}, message); e != errc::ok) return e;
  if (errc e = a.required_uint("n", opts_.max_n, n, message); e != errc::ok) return e;
  if (n > st_.ranking.size()) n = st_.ranking.size();
  result.pack_array(static_cast<uint32_t>(n));
  auto it = st_.ranking.begin();
  for (uint64_t i = 0; i < n; ++i, ++it) {
    const uint32_t c = *st_.book.find_customer(it->id);
    result.pack_map(3);
    pack_str(result, "id");
    pack_str(result, it->id);
    pack_str(result, "name");
    pack_str(result, st_.names[c]);
    pack_str(result, "revenue");
    pack_number(result, it->revenue);
  }
  return errc::ok;
}

void top_customers_model::save(out_buffer& out) const {
  packer pk(out);
  pk.pack_array(3);
  write_header(pk, magic, format_version);
  st_.book.save(pk);
  pk.pack_array(static_cast<uint32_t>(st_.names.size()));
  for (const std::string& n : st_.names) pack_str(pk, n);
}

bool top_customers_model::load(std::span<const char> bytes, std::string& error) {
  snapshot_reader r(bytes);
  state st(opts_.base);
  const uint32_t parts = r.array();
  r.header(magic, format_version);  // first, so that another model's snapshot is named
  if (parts != 3) r.fail("bad snapshot layout");
  st.book.load(r);
  const uint32_t n = r.array();
  if (r.ok() && n != st.book.customers()) r.fail("names do not match the customers");
  for (uint32_t i = 0; i < n && r.ok(); ++i) st.names.push_back(r.str());
  r.expect_end();
  if (!r.ok()) {
    error = "top_customers: " + r.error();
    return false;
  }
  for (uint32_t c = 0; c < st.book.customers(); ++c)
    st.ranking.insert({st.book.revenue(c), st.book.customer_id(c)});
  st_ = std::move(st);
  return true;
}

std::unique_ptr<read_model> top_customers_model::clone_empty() const {
  return std::make_unique<top_customers_model>(opts_);
}

}  // namespace rill::readmodels
