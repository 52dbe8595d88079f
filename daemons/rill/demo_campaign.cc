// rill demo, step 6: an email campaign to the B customers.
#include <algorithm>
#include <fstream>
#include <set>
#include <thread>

#include "daemons/rill/demo_scenario.h"
#include "readmodels/models/safe_name.h"

namespace rill::cli {

namespace {

std::vector<std::string> string_list(const nlohmann::json& v) {
  std::vector<std::string> out;
  if (v.is_array())
    for (const auto& x : v)
      if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

// The header lines of a message file worth showing.
std::vector<std::string> headers_of(const std::filesystem::path& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line) && !line.empty() && line != "\r") {
    for (const char* h : {"From:", "To:", "Subject:", "Message-ID:"})
      if (line.rfind(h, 0) == 0) out.push_back(line);
  }
  return out;
}

}  // namespace

void demo_campaign(demo_session& s, const demo_cast& c, demo_progress& p) {
  s.step("An email campaign to the B customers");
  auto r = s.send(
      {{"cmd", "RUN_EMAIL_CAMPAIGN"},
       {"agg", "campaign"},
       {"id", c.campaign},
       {"data",
        {{"segment", "B"},
         {"subject", "Spring offer for our B customers"},
         {"body",
          "Dear customer,\n\nthank you for your orders. This spring, B customers get 10% off.\n"}}},
       {"key", "demo:campaign:" + c.campaign}});
  p.campaign_seq = r.is_object() && r.value("ok", false) ? seq_of(r) : 0;
  if (!s.check(p.campaign_seq > 0, "RUN_EMAIL_CAMPAIGN accepted")) return;
  p.last_seq = std::max(p.last_seq, p.campaign_seq);

  // The saga writes the files in the background: wait until every recipient is done.
  nlohmann::json st;
  using clock = std::chrono::steady_clock;
  for (auto deadline = clock::now() + s.step_timeout();
       clock::now() < deadline && !s.interrupted();) {
    auto q = s.query("email_campaigns", "get", {{"id", c.campaign}}, p.campaign_seq, false);
    st = q.is_object() ? q.value("result", nlohmann::json(nullptr)) : nlohmann::json(nullptr);
    if (st.is_object() && st.value("recipients", 0) > 0 &&
        st.value("sent", 0) + st.value("failed", 0) >= st.value("recipients", 0))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  s.say("> query email_campaigns get id=" + c.campaign + " --after " +
        std::to_string(p.campaign_seq));
  s.show(st);
  const auto recipients =
      string_list(st.is_object() ? st.value("recipient_ids", nlohmann::json()) : nlohmann::json());
  std::set<std::string> rset(recipients.begin(), recipients.end());
  bool right = true;
  for (const auto& cu : c.customers)
    if ((cu.expected == 'B') != (rset.count(cu.id) > 0)) right = false;
  s.check(right, "the recipients are the B customers (and only they)");
  s.check(st.is_object() && st.value("failed", -1) == 0 &&
              st.value("sent", -1) == static_cast<int>(recipients.size()),
          "every email was sent", st.is_object() ? st.dump() : "no answer");

  const auto dir = s.data() / "outbox" / readmodels::safe_file_name(c.campaign);
  size_t files = 0, found = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".eml") ++files;
  std::filesystem::path sample;
  for (const auto& id : recipients) {
    auto f = dir / (readmodels::safe_file_name(id) + ".eml");
    if (std::filesystem::is_regular_file(f, ec)) {
      ++found;
      if (sample.empty()) sample = f;
    }
  }
  s.say("outbox " + dir.string() + ": " + std::to_string(files) + " .eml files");
  if (!sample.empty()) {
    s.say(sample.filename().string() + ":");
    for (const auto& h : headers_of(sample)) s.say("    " + h);
  }
  s.check(!recipients.empty() && found == recipients.size() && files == recipients.size(),
          "one .eml file per B customer in " + dir.string(),
          std::to_string(files) + " files, " + std::to_string(found) + " of " +
              std::to_string(recipients.size()) + " recipients");
}

}  // namespace rill::cli
