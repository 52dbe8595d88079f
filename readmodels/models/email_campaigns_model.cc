#include "readmodels/models/email_campaigns_model.h"

#include "readmodels/models/domain_names.h"
#include "readmodels/models/email_message.h"
#include "readmodels/models/msgpack_fields.h"
#include "readmodels/models/query_args.h"
#include "readmodels/models/settings.h"
#include "readmodels/models/snapshot_reader.h"

namespace rill::readmodels {
namespace {

constexpr std::string_view magic = "rill.email_campaigns";
constexpr uint64_t format_version = 1;
constexpr uint64_t rcpt_status_count = 3;

bool parse_class(std::string_view s, char& out) {
  if (s.size() != 1 || s[0] < 'A' || s[0] > 'C') return false;
  out = s[0];
  return true;
}

}  // namespace

email_campaigns_model::options email_campaigns_model::parse(const model_config& cfg) {
  settings_reader r("email_campaigns", cfg.settings);
  options o;
  o.enabled = r.boolean("saga", o.enabled);
  o.from = r.string("from", o.from);
  if (!valid_address(o.from)) r.fail("from", "must be a plain address such as rill@localhost");
  o.outbox_dir = r.string("outbox_dir", "");
  if (o.outbox_dir.empty() && !cfg.data_dir.empty()) o.outbox_dir = cfg.data_dir + "/outbox";
  if (o.enabled && o.outbox_dir.empty())
    r.fail("outbox_dir", "is needed when there is no data directory");
  o.emails_per_tick = r.uint("emails_per_tick", o.emails_per_tick, 1, 100'000);
  o.fsync = r.boolean("fsync", o.fsync);
  o.retry = retry_policy::parse(r);
  r.finish();
  return o;
}

std::span<const event_kind> email_campaigns_model::reads() const {
  static constexpr event_kind kinds[] = {
      {domain::customer, domain::customer_created},
      {domain::customer, domain::customer_updated},
      {domain::customer, domain::classification_updated},
      {domain::campaign, domain::campaign_started},
  };
  return kinds;
}

void email_campaigns_model::apply(const event_view& e, change_set& changed) {
  if (e.agg == domain::customer) {
    on_customer(e, changed);
  } else if (e.agg == domain::campaign && e.type == domain::campaign_started) {
    on_campaign(e, changed);
  }
}

void email_campaigns_model::on_customer(const event_view& e, change_set& changed) {
  std::string_view v;
  if (e.type == domain::customer_created) {
    if (st_.customer_index.contains(e.id) || !get_str(e.data, domain::f_email, v)) return;
    st_.customer_index.emplace(std::string(e.id), static_cast<uint32_t>(st_.customers.size()));
    st_.customers.push_back(customer{std::string(e.id), std::string(v), 0});
    return;
  }
  auto it = st_.customer_index.find(e.id);
  if (it == st_.customer_index.end()) return;
  customer& c = st_.customers[it->second];
  if (e.type == domain::customer_updated) {
    if (get_str(e.data, domain::f_email, v)) c.email.assign(v);
  } else if (e.type == domain::classification_updated) {
    char cls = 0;
    if (get_str(e.data, domain::f_classification, v) && parse_class(v, cls)) c.classification = cls;
  }
  (void)changed;  // campaigns already started keep their recipients
}

void email_campaigns_model::on_campaign(const event_view& e, change_set& changed) {
  std::string_view segment, subject, body;
  char cls = 0;
  if (st_.campaign_index.contains(e.id) || !get_str(e.data, domain::f_segment, segment) ||
      !parse_class(segment, cls) || !get_str(e.data, domain::f_subject, subject) ||
      !get_str(e.data, domain::f_body, body))
    return;
  campaign c;
  c.id.assign(e.id);
  c.subject.assign(subject);
  c.body.assign(body);
  c.segment = cls;
  c.ts = e.ts;
  for (const customer& cu : st_.customers) {
    if (cu.classification != cls) continue;
    recipient r{cu.id, cu.email, rcpt_status::pending};
    if (!valid_address(cu.email)) {
      r.st = rcpt_status::failed;  // would break the message's headers
      ++c.failed;
    }
    c.recipients.push_back(std::move(r));
  }
  const auto idx = static_cast<uint32_t>(st_.campaigns.size());
  const bool work = c.failed < c.recipients.size();
  st_.campaign_index.emplace(c.id, idx);
  st_.campaigns.push_back(std::move(c));
  if (work) due_.schedule(idx, time_point::min());
  changed.add(e.id);
}

errc email_campaigns_model::query(std::string_view q, const msgpack::object& args, packer& result,
                                  std::string& message) const {
  if (q != "get") {
    message = "email_campaigns answers get";
    return errc::unknown_query;
  }
  query_args a(args);
  std::string id;
  if (errc e = a.check_known({"id"}, message); e != errc::ok) return e;
  if (errc e = a.required_string("id", id, message); e != errc::ok) return e;
  auto it = st_.campaign_index.find(id);
  if (it == st_.campaign_index.end()) {
    message = "no campaign '" + id + "'";
    return errc::not_found;
  }
  const campaign& c = st_.campaigns[it->second];
  result.pack_map(9);
  pack_str(result, "id");
  pack_str(result, c.id);
  pack_str(result, "segment");
  pack_str(result, std::string_view(&c.segment, 1));
  pack_str(result, "subject");
  pack_str(result, c.subject);
  pack_str(result, "recipients");
  result.pack_uint64(c.recipients.size());
  pack_str(result, "recipient_ids");
  result.pack_array(static_cast<uint32_t>(c.recipients.size()));
  for (const recipient& r : c.recipients) pack_str(result, r.customer_id);
  pack_str(result, "sent");
  result.pack_uint64(c.sent);
  pack_str(result, "failed");
  result.pack_uint64(c.failed);
  pack_str(result, "failed_ids");
  result.pack_array(static_cast<uint32_t>(c.failed));
  for (const recipient& r : c.recipients)
    if (r.st == rcpt_status::failed) pack_str(result, r.customer_id);
  pack_str(result, "error");
  write_optional_str(result, !c.error.empty(), c.error);
  return errc::ok;
}

void email_campaigns_model::save(out_buffer& out) const {
  packer pk(out);
  pk.pack_array(3);
  write_header(pk, magic, format_version);
  pk.pack_array(static_cast<uint32_t>(st_.customers.size()));
  for (const customer& c : st_.customers) {
    pk.pack_array(3);
    pack_str(pk, c.id);
    pack_str(pk, c.email);
    write_optional_str(pk, c.classification != 0, std::string_view(&c.classification, 1));
  }
  pk.pack_array(static_cast<uint32_t>(st_.campaigns.size()));
  for (const campaign& c : st_.campaigns) {
    pk.pack_array(8);
    pack_str(pk, c.id);
    pack_str(pk, std::string_view(&c.segment, 1));
    pack_str(pk, c.subject);
    pack_str(pk, c.body);
    pk.pack_uint64(c.ts);
    pk.pack_array(static_cast<uint32_t>(c.recipients.size()));
    for (const recipient& r : c.recipients) {
      pk.pack_array(3);
      pack_str(pk, r.customer_id);
      pack_str(pk, r.email);
      pk.pack_uint8(static_cast<uint8_t>(r.st));
    }
    pk.pack_uint32(c.attempts);
    pack_str(pk, c.error);
  }
}

bool email_campaigns_model::load(std::span<const char> bytes, std::string& error) {
  snapshot_reader r(bytes);
  state st;
  const uint32_t parts = r.array();
  r.header(magic, format_version);  // first, so that another model's snapshot is named
  if (parts != 3) r.fail("bad snapshot layout");
  const uint32_t nc = r.array();
  for (uint32_t i = 0; i < nc && r.ok(); ++i) {
    if (r.array() != 3) r.fail("bad customer record");
    customer c;
    c.id = r.str();
    c.email = r.str();
    bool has = false;
    const std::string cls = r.optional_str(has);
    if (has && !parse_class(cls, c.classification)) r.fail("bad classification");
    if (!r.ok()) break;
    if (!st.customer_index.emplace(c.id, i).second) r.fail("duplicate customer id");
    st.customers.push_back(std::move(c));
  }
  const uint32_t nm = r.array();
  for (uint32_t i = 0; i < nm && r.ok(); ++i) {
    if (r.array() != 8) r.fail("bad campaign record");
    campaign c;
    c.id = r.str();
    if (!parse_class(r.str(), c.segment)) r.fail("bad segment");
    c.subject = r.str();
    c.body = r.str();
    c.ts = r.u64();
    const uint32_t n = r.array();
    c.recipients.reserve(n);
    for (uint32_t j = 0; j < n && r.ok(); ++j) {
      if (r.array() != 3) r.fail("bad recipient record");
      recipient rc;
      rc.customer_id = r.str();
      rc.email = r.str();
      const uint64_t s = r.u64();
      if (s >= rcpt_status_count) r.fail("bad recipient state");
      rc.st = static_cast<rcpt_status>(s);
      if (rc.st == rcpt_status::sent) ++c.sent;
      if (rc.st == rcpt_status::failed) ++c.failed;
      c.recipients.push_back(std::move(rc));
    }
    const uint64_t attempts = r.u64();
    c.error = r.str();
    if (attempts > UINT32_MAX) r.fail("bad attempts");
    c.attempts = static_cast<uint32_t>(attempts);
    if (!r.ok()) break;
    if (!st.campaign_index.emplace(c.id, i).second) r.fail("duplicate campaign id");
    st.campaigns.push_back(std::move(c));
  }
  r.expect_end();
  if (!r.ok()) {
    error = "email_campaigns: " + r.error();
    return false;
  }
  st_ = std::move(st);
  due_.clear();
  for (uint32_t idx = 0; idx < st_.campaigns.size(); ++idx) {
    const campaign& c = st_.campaigns[idx];
    if (c.sent + c.failed < c.recipients.size()) due_.schedule(idx, time_point::min());
  }
  return true;
}

std::unique_ptr<read_model> email_campaigns_model::clone_empty() const {
  return std::make_unique<email_campaigns_model>(opts_);
}

}  // namespace rill::readmodels
