// rill demo: runs to completion on its own rill (started in a temp dir and
// removed), and against a running rill, with its final state checked.
#include <gtest/gtest.h>

#include "tests/daemons/cli_support.h"

namespace rill::test {
namespace {

using namespace std::chrono_literals;

// The final state the default domain must reach (DOMAIN.md, default thresholds).
void check_final_state(const nlohmann::json& j, const std::string& suffix, int recipients) {
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["ok"], true) << j["failures"].dump(2);
  EXPECT_TRUE(j["failures"].empty());
  EXPECT_GE(j["checks"].get<int>(), 20);
  EXPECT_EQ(j["steps"].size(), 7u);
  for (const auto& s : j["steps"])
    for (const auto& c : s["checks"]) EXPECT_EQ(c["ok"], true) << c.dump();
  const auto& f = j["final_state"];
  auto id = [&](const std::string& base) { return base + suffix; };
  std::map<std::string, std::string> cls;
  for (const auto& c : f["customers"]) cls[c["id"]] = c["classification"];
  EXPECT_EQ(cls[id("ada")], "A");
  EXPECT_EQ(cls[id("grace")], "B");
  EXPECT_EQ(cls[id("alan")], "B");
  EXPECT_EQ(cls[id("edsger")], "C");
  ASSERT_EQ(f["top_customers"].size(), 4u);
  EXPECT_EQ(f["top_customers"][0]["id"], id("ada"));
  EXPECT_EQ(f["top_customers"][0]["revenue"], 12000);
  ASSERT_EQ(f["orders"].size(), 5u);
  for (const auto& o : f["orders"]) {
    EXPECT_TRUE(o["amount_base"].is_number()) << o.dump();
    if (o["currency"] == "USD") {
      EXPECT_NEAR(o["rate"].get<double>(), 1 / 1.0705, 1e-6);
      EXPECT_NEAR(o["amount_base"].get<double>(), 2500 / 1.0705, 1e-3);
    }
  }
  EXPECT_EQ(f["customer_analysis"]["B"], nlohmann::json::array({id("alan"), id("grace")}));
  EXPECT_EQ(f["email_campaigns"]["recipients"], recipients);
  EXPECT_EQ(f["email_campaigns"]["sent"], recipients);
  EXPECT_EQ(f["email_campaigns"]["failed"], 0);
  for (const auto& fx : f["exchange_rates"]) EXPECT_EQ(fx["state"], "done") << fx.dump();
}

TEST(CliDemo, RunsToCompletionOnItsOwnRill) {
  temp_dir d("rcli");
  const auto missing = d.path() / "none";  // no rill runs here: the demo starts its own
  auto r = run_rill({"demo", "--json", "--data", missing.string()}, {.timeout = 240s});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto j = parse_json(r.out);
  check_final_state(j, "", 2);
  // It ran elsewhere and cleaned up after itself.
  const std::filesystem::path used = j["data"].get<std::string>();
  EXPECT_NE(used, missing);
  EXPECT_FALSE(std::filesystem::exists(used));
  EXPECT_FALSE(std::filesystem::exists(missing));
}

// A demo whose checks fail ends like every CLI error (docs/cli.md): one line
// "rill: demo_failed: ..." on stderr, and with --json "error" in its report.
// (1 ms per step: the sagas' checks cannot pass in that time.)
TEST(CliDemo, AFailedDemoSaysDemoFailed) {
  temp_dir d("rcli");
  const auto missing = d.path() / "none";
  auto r =
      run_rill({"demo", "--step-timeout-ms", "1", "--data", missing.string()}, {.timeout = 240s});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("rill: demo_failed: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" checks failed"), std::string::npos) << r.err;
  auto j = run_rill({"demo", "--json", "--step-timeout-ms", "1", "--data", missing.string()},
                    {.timeout = 240s});
  EXPECT_EQ(j.code, 1) << j.err;
  const auto report = parse_json(j.out);
  ASSERT_TRUE(report.is_object()) << j.out;
  EXPECT_EQ(report["ok"], false);
  EXPECT_EQ(report["error"], "demo_failed");
  EXPECT_NE(report.value("message", "").find("checks failed"), std::string::npos) << j.out;
}

TEST(CliDemo, RunsAgainstARunningRillTwice) {
  live_rill rill;
  ASSERT_TRUE(rill.ok()) << rill.up().err;
  // People's output first: every step and the verdict.
  auto r = run_rill(rill.with_data({"demo"}), {.timeout = 240s});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  for (int i = 1; i <= 7; ++i)
    EXPECT_NE(r.out.find("Step " + std::to_string(i) + ". "), std::string::npos) << i;
  EXPECT_NE(r.out.find("checks passed"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("[FAILED]"), std::string::npos) << r.out;
  // The outbox holds one message per B customer.
  const auto outbox = rill.data() / "outbox" / "spring-offer";
  ASSERT_TRUE(std::filesystem::is_directory(outbox));
  EXPECT_TRUE(std::filesystem::exists(outbox / "grace.eml"));
  EXPECT_TRUE(std::filesystem::exists(outbox / "alan.eml"));
  EXPECT_FALSE(std::filesystem::exists(outbox / "ada.eml"));

  // A second run on the same data uses fresh ids and still holds.
  auto again = run_rill(rill.with_data({"demo", "--json"}), {.timeout = 240s});
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  auto j = parse_json(again.out);
  ASSERT_TRUE(j.is_object()) << again.out;
  std::string suffix;
  for (const auto& c : j["final_state"]["customers"]) {
    const std::string cid = c["id"];
    if (cid.rfind("ada-", 0) == 0) suffix = cid.substr(3);
  }
  ASSERT_FALSE(suffix.empty()) << j["final_state"].dump();
  // The second campaign goes to the B customers of the time: this run's and
  // the first run's grace and alan.
  check_final_state(j, suffix, 4);
}

}  // namespace
}  // namespace rill::test
