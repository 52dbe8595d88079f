#include "readmodels/models/customer_analysis_model.h"

#include "readmodels/models/domain_names.h"
#include "readmodels/models/msgpack_fields.h"
#include "readmodels/models/query_args.h"
#include "readmodels/models/settings.h"
#include "readmodels/models/snapshot_reader.h"

namespace rill::readmodels {
namespace {

constexpr std::string_view magic = "rill.customer_analysis";
constexpr uint64_t format_version = 1;
constexpr uint64_t cmd_status_count = 3;

bool parse_class(std::string_view s, char& out) {
  if (s.size() != 1 || s[0] < 'A' || s[0] > 'C') return false;
  out = s[0];
  return true;
}

}  // namespace

customer_analysis_model::options customer_analysis_model::parse(const model_config& cfg) {
  settings_reader r("customer_analysis", cfg.settings);
  options o;
  if (!normalize_currency(r.string("base", o.base), o.base))
    r.fail("base", "must be three letters");
  const nlohmann::json thresholds = r.object("thresholds");
  settings_reader t("customer_analysis (thresholds)", thresholds);
  o.threshold_a = t.number("A", o.threshold_a, 0, 1e300);
  o.threshold_b = t.number("B", o.threshold_b, 0, 1e300);
  t.finish();
  if (o.threshold_a < o.threshold_b) r.fail("thresholds", "needs A >= B");
  o.saga = saga_options::parse(r, cfg);
  r.finish();
  return o;
}

customer_analysis_model::customer_analysis_model(options opts)
    : opts_(std::move(opts)), st_(opts_.base) {}

customer_analysis_model::~customer_analysis_model() {
  commands_.reset();
}

char customer_analysis_model::rating_of(double revenue) const {
  if (revenue >= opts_.threshold_a) return 'A';
  if (revenue >= opts_.threshold_b) return 'B';
  return 'C';
}

void customer_analysis_model::sync_new() {
  for (auto c = static_cast<uint32_t>(st_.customers.size()); c < st_.book.customers(); ++c) {
    st_.customers.emplace_back();
    st_.segments[segment_index(rating_of(st_.book.revenue(c)))].insert(st_.book.customer_id(c));
  }
}

void customer_analysis_model::prefetch(const event_view& e) const { st_.book.prefetch(e); }

std::span<const event_kind> customer_analysis_model::reads() const {
  static constexpr event_kind kinds[] = {
      {domain::customer, domain::customer_created},
      {domain::customer, domain::classification_updated},
      {domain::order, domain::order_created},
      {domain::order, domain::exchange_rate_set},
  };
  return kinds;
}

void customer_analysis_model::apply(const event_view& e, change_set& changed) {
  if (e.agg == domain::customer) {
    if (e.type == domain::customer_created) {
      st_.book.customer(e.id);
      sync_new();
      changed.add(e.id);
    } else if (e.type == domain::classification_updated) {
      on_classification(e, changed);
    }
    return;
  }
  revenue_book::change ch;
  const bool moved = st_.book.apply(e, ch);
  sync_new();
  if (moved) on_revenue(ch, e.seq, changed);
}

void customer_analysis_model::on_revenue(const revenue_book::change& ch, uint64_t seq,
                                         change_set& changed) {
  const std::string& id = st_.book.customer_id(ch.customer);
  const char before = rating_of(ch.before), after = rating_of(ch.after);
  if (before != after) {
    st_.segments[segment_index(before)].erase(id);
    st_.segments[segment_index(after)].insert(id);
  }
  customer& c = st_.customers[ch.customer];
  const char expected = c.pending ? c.pending->classification : c.assigned;
  if (after != expected) record_command(ch.customer, id, seq, after);
  changed.add(id);
}

void customer_analysis_model::record_command(uint32_t idx, std::string_view id, uint64_t seq,
                                             char cls) {
  pending_cmd p;
  p.classification = cls;
  // The classification is part of the key: with other thresholds (a
  // rebuild after a settings change) the same event can ask for another
  // one, which the old key would have answered dup with the old event.
  p.key = "cls:" + std::string(id) + ":" + std::to_string(seq) + ":" + cls;
  st_.customers[idx].pending = std::move(p);
  due_.schedule(idx, time_point::min());
}

void customer_analysis_model::on_classification(const event_view& e, change_set& changed) {
  std::string_view v;
  char cls = 0;
  if (!get_str(e.data, domain::f_classification, v) || !parse_class(v, cls)) return;
  const uint32_t idx = st_.book.customer(e.id);
  sync_new();
  customer& c = st_.customers[idx];
  c.assigned = cls;
  if (c.pending && c.pending->classification == cls) {
    c.pending.reset();
    due_.cancel(idx);
  }
  // A classification this saga sent (its key says so) is not one set by
  // hand: if it is not the rating now, it was asked for under other
  // thresholds (a rebuild after the settings changed replays it after the
  // saga's newer command was complete) and the rating is sent again, keyed
  // by this event. Otherwise the customer stayed misclassified until its
  // revenue next changed (an outside probe).
  if (!c.pending && e.key.starts_with("cls:")) {
    const char rating = rating_of(st_.book.revenue(idx));
    if (rating != cls) record_command(idx, e.id, e.seq, rating);
  }
  changed.add(e.id);
}

errc customer_analysis_model::query(std::string_view q, const msgpack::object& args, packer& result,
                                    std::string& message) const {
  query_args a(args);
  if (q == "rating") {
    std::string id;
    if (errc e = a.check_known({"id"}, message); e != errc::ok) return e;
    if (errc e = a.required_string("id", id, message); e != errc::ok) return e;
    auto idx = st_.book.find_customer(id);
    if (!idx) {
      message = "no customer '" + id + "'";
      return errc::not_found;
    }
    const customer& c = st_.customers[*idx];
    const double revenue = st_.book.revenue(*idx);
    const char rating = rating_of(revenue);
    // A command given up on keeps its pending classification (a later order
    // may replace it) and says why.
    const bool failed = c.pending && c.pending->st == cmd_status::failed;
    result.pack_map(failed ? 6 : 5);
    pack_str(result, "id");
    pack_str(result, id);
    pack_str(result, "revenue");
    pack_number(result, revenue);
    pack_str(result, "classification");
    pack_str(result, std::string_view(&rating, 1));
    pack_str(result, "assigned");
    write_optional_str(result, c.assigned != 0, std::string_view(&c.assigned, 1));
    pack_str(result, "pending");
    write_optional_str(result, c.pending.has_value(),
                       c.pending ? std::string_view(&c.pending->classification, 1) : "");
    if (failed) {
      pack_str(result, "error");
      pack_str(result, c.pending->error);
    }
    return errc::ok;
  }
  if (q == "segment") {
    std::string cls;
    uint64_t offset = 0, limit = UINT64_MAX;
    char rating = 0;
    if (errc e = a.check_known({"classification", "offset", "limit"}, message); e != errc::ok)
      return e;
    if (errc e = a.required_string("classification", cls, message); e != errc::ok) return e;
    if (!parse_class(cls, rating)) {
      message = "classification must be A, B or C";
      return errc::bad_request;
    }
    if (errc e = a.optional_uint("offset", UINT64_MAX, offset, message); e != errc::ok) return e;
    if (errc e = a.optional_uint("limit", UINT64_MAX, limit, message); e != errc::ok) return e;
    const std::set<std::string>& ids = st_.segments[segment_index(rating)];
    const uint64_t begin = offset < ids.size() ? offset : ids.size();
    const uint64_t end = ids.size() - begin < limit ? ids.size() : begin + limit;
    result.pack_array(static_cast<uint32_t>(end - begin));
    auto it = std::next(ids.begin(), static_cast<std::ptrdiff_t>(begin));
    for (uint64_t i = begin; i < end; ++i, ++it) pack_str(result, *it);
    return errc::ok;
  }
  message = "customer_analysis answers rating and segment";
  return errc::unknown_query;
}

void customer_analysis_model::save(out_buffer& out) const {
  packer pk(out);
  pk.pack_array(3);
  write_header(pk, magic, format_version);
  st_.book.save(pk);
  pk.pack_array(static_cast<uint32_t>(st_.customers.size()));
  for (const customer& c : st_.customers) {
    pk.pack_array(2);
    write_optional_str(pk, c.assigned != 0, std::string_view(&c.assigned, 1));
    if (!c.pending) {
      pk.pack_nil();
      continue;
    }
    const pending_cmd& p = *c.pending;
    pk.pack_array(5);
    pack_str(pk, std::string_view(&p.classification, 1));
    pack_str(pk, p.key);
    pk.pack_uint8(static_cast<uint8_t>(p.st));
    pk.pack_uint32(p.attempts);
    pack_str(pk, p.error);
  }
}

bool customer_analysis_model::load(std::span<const char> bytes, std::string& error) {
  snapshot_reader r(bytes);
  state st(opts_.base);
  const uint32_t parts = r.array();
  r.header(magic, format_version);  // first, so that another model's snapshot is named
  if (parts != 3) r.fail("bad snapshot layout");
  st.book.load(r);
  const uint32_t n = r.array();
  if (r.ok() && n != st.book.customers()) r.fail("customers do not match the revenue book");
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    if (r.array() != 2) r.fail("bad customer record");
    customer c;
    bool has = false;
    std::string assigned = r.optional_str(has);
    if (has && !parse_class(assigned, c.assigned)) r.fail("bad classification");
    const uint32_t fields = r.nil() ? 0 : r.array();
    if (fields != 0) {
      if (fields != 5) r.fail("bad pending command");
      pending_cmd p;
      if (!parse_class(r.str(), p.classification)) r.fail("bad pending classification");
      p.key = r.str();
      const uint64_t s = r.u64();
      const uint64_t attempts = r.u64();
      p.error = r.str();
      if (s >= cmd_status_count || attempts > UINT32_MAX) r.fail("bad pending command state");
      p.st = static_cast<cmd_status>(s);
      p.attempts = static_cast<uint32_t>(attempts);
      c.pending = std::move(p);
    }
    st.customers.push_back(std::move(c));
  }
  r.expect_end();
  if (!r.ok()) {
    error = "customer_analysis: " + r.error();
    return false;
  }
  for (uint32_t c = 0; c < st.book.customers(); ++c)
    st.segments[segment_index(rating_of(st.book.revenue(c)))].insert(st.book.customer_id(c));
  st_ = std::move(st);
  reschedule_all();
  return true;
}

void customer_analysis_model::reschedule_all() {
  due_.clear();
  req_owner_.clear();
  commands_.reset();
  for (uint32_t idx = 0; idx < st_.customers.size(); ++idx) {
    auto& p = st_.customers[idx].pending;
    if (!p) continue;
    p->req = 0;
    if (p->st == cmd_status::queued) due_.schedule(idx, time_point::min());
  }
}

std::unique_ptr<read_model> customer_analysis_model::clone_empty() const {
  return std::make_unique<customer_analysis_model>(opts_);
}

}  // namespace rill::readmodels
