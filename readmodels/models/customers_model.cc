#include "readmodels/models/customers_model.h"

#include "readmodels/models/domain_names.h"
#include "readmodels/models/msgpack_fields.h"
#include "readmodels/models/query_args.h"
#include "readmodels/models/settings.h"
#include "readmodels/models/snapshot_reader.h"

namespace rill::readmodels {
namespace {

constexpr std::string_view magic = "rill.customers";
constexpr uint64_t format_version = 1;

bool classification_of(std::string_view s, char& out) {
  if (s.size() != 1 || (s[0] != 'A' && s[0] != 'B' && s[0] != 'C')) return false;
  out = s[0];
  return true;
}

}  // namespace

customers_model::options customers_model::parse(const nlohmann::json& settings) {
  settings_reader r("customers", settings);
  options o;
  o.list_max_limit = r.uint("list_max_limit", o.list_max_limit, 1, 1'000'000);
  o.list_default_limit = r.uint("list_default_limit", o.list_default_limit, 1, o.list_max_limit);
  r.finish();
  return o;
}

customers_model::customer* customers_model::find(std::string_view id) {
  auto it = st_->index.find(hashed(id));
  return it == st_->index.end() ? nullptr : &st_->list[record_position(*it)];
}

void customers_model::prefetch(const event_view& e) const {
  if (e.agg == domain::customer) st_->index.prefetch(hashed(e.id));
}

std::span<const event_kind> customers_model::reads() const {
  static constexpr event_kind kinds[] = {
      {domain::customer, domain::customer_created},
      {domain::customer, domain::customer_updated},
      {domain::customer, domain::classification_updated},
  };
  return kinds;
}

void customers_model::apply(const event_view& e, change_set& changed) {
  if (e.agg != domain::customer) return;
  if (e.type == domain::customer_created) {
    std::string_view name, email, country;
    if (!get_str(e.data, domain::f_name, name) || !get_str(e.data, domain::f_email, email)) return;
    // One hash of the id: a second create of an existing customer is ignored.
    const hashed_view key = hashed(e.id);
    if (!record_index_insert(st_->index, key, static_cast<uint32_t>(st_->list.size())).second)
      return;
    customer& c = st_->list.emplace_back();
    c.id.assign(e.id);
    c.name.assign(name);
    c.email.assign(email);
    c.version = e.ver;
    if (get_str(e.data, domain::f_country, country)) {
      c.country.assign(country);
      c.has_country = true;
    }
    changed.add(e.id);
  } else if (e.type == domain::customer_updated) {
    customer* c = find(e.id);
    if (c == nullptr) return;
    std::string_view v;
    if (get_str(e.data, domain::f_name, v)) c->name.assign(v);
    if (get_str(e.data, domain::f_email, v)) c->email.assign(v);
    if (get_str(e.data, domain::f_country, v)) {
      c->country.assign(v);
      c->has_country = true;
    }
    c->version = e.ver;
    changed.add(e.id);
  } else if (e.type == domain::classification_updated) {
    customer* c = find(e.id);
    std::string_view v;
    char cls = 0;
    if (c == nullptr || !get_str(e.data, domain::f_classification, v) || !classification_of(v, cls))
      return;
    c->classification = cls;
    c->version = e.ver;
    changed.add(e.id);
  }
}

void customers_model::pack_customer(packer& pk, const customer& c) {
  pk.pack_map(6);
  pack_str(pk, "id");
  pack_str(pk, c.id);
  pack_str(pk, "name");
  pack_str(pk, c.name);
  pack_str(pk, "email");
  pack_str(pk, c.email);
  pack_str(pk, "country");
  write_optional_str(pk, c.has_country, c.country);
  pack_str(pk, "classification");
  write_optional_str(pk, c.classification != 0, std::string_view(&c.classification, 1));
  pack_str(pk, "version");
  pk.pack_uint64(c.version);
}

errc customers_model::query(std::string_view q, const msgpack::object& args, packer& result,
                            std::string& message) const {
  query_args a(args);
  if (q == "get") {
    std::string id;
    if (errc e = a.check_known({"id"}, message); e != errc::ok) return e;
    if (errc e = a.required_string("id", id, message); e != errc::ok) return e;
    auto it = st_->index.find(hashed(id));
    if (it == st_->index.end()) {
      message = "no customer '" + id + "'";
      return errc::not_found;
    }
    pack_customer(result, st_->list[record_position(*it)]);
    return errc::ok;
  }
  if (q == "list") {
    uint64_t offset = 0, limit = opts_.list_default_limit;
    if (errc e = a.check_known({"offset", "limit"}, message); e != errc::ok) return e;
    if (errc e = a.optional_uint("offset", UINT64_MAX, offset, message); e != errc::ok) return e;
    if (errc e = a.optional_uint("limit", opts_.list_max_limit, limit, message); e != errc::ok)
      return e;
    const uint64_t size = st_->list.size();
    const uint64_t begin = offset < size ? offset : size;
    const uint64_t end = size - begin < limit ? size : begin + limit;
    result.pack_array(static_cast<uint32_t>(end - begin));
    for (uint64_t i = begin; i < end; ++i) pack_customer(result, st_->list[i]);
    return errc::ok;
  }
  message = "customers answers get and list";
  return errc::unknown_query;
}

void customers_model::save(out_buffer& out) const {
  packer pk(out);
  pk.pack_array(2);
  write_header(pk, magic, format_version);
  pk.pack_array(static_cast<uint32_t>(st_->list.size()));
  for (const customer& c : st_->list) {
    pk.pack_array(6);
    pack_str(pk, c.id);
    pack_str(pk, c.name);
    pack_str(pk, c.email);
    write_optional_str(pk, c.has_country, c.country);
    write_optional_str(pk, c.classification != 0, std::string_view(&c.classification, 1));
    pk.pack_uint64(c.version);
  }
}

bool customers_model::load(std::span<const char> bytes, std::string& error) {
  snapshot_reader r(bytes);
  auto fresh = std::make_unique<state>();
  state& st = *fresh;
  const uint32_t parts = r.array();
  r.header(magic, format_version);  // first, so that another model's snapshot is named
  if (parts != 2) r.fail("bad snapshot layout");
  const uint32_t n = r.array();
  st.list.reserve(n);  // n is bounded by the snapshot's size (snapshot_reader)
  st.index.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    if (r.array() != 6) r.fail("bad customer record");
    customer c;
    c.id = r.str();
    c.name = r.str();
    c.email = r.str();
    c.country = r.optional_str(c.has_country);
    bool has_cls = false;
    std::string cls = r.optional_str(has_cls);
    if (has_cls && !classification_of(cls, c.classification)) r.fail("bad classification");
    c.version = r.u64();
    if (!r.ok()) break;
    const hashed_view key = hashed(c.id);
    if (!record_index_insert(st.index, key, i).second) r.fail("duplicate customer id");
    st.list.push_back(std::move(c));
  }
  r.expect_end();
  if (!r.ok()) {
    error = "customers: " + r.error();
    return false;
  }
  st_ = std::move(fresh);
  return true;
}

std::unique_ptr<read_model> customers_model::clone_empty() const {
  // The instance a rebuild fills: it will end up holding at least this
  // one's customers (the journal only grows), so it is sized for them at
  // once instead of growing through every doubling (bench/RESULTS.md).
  auto m = std::make_unique<customers_model>(opts_);
  m->st_->list.reserve(st_->list.size());
  m->st_->index.reserve(st_->index.size());
  return m;
}

}  // namespace rill::readmodels
