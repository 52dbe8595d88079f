#pragma once
// The example scenario of DOMAIN.md, as `rill demo` plays it against a
// running rill, step by step:
//   1. create customers                   (one command each)
//   2. create orders in EUR, USD and GBP  (one batch)
//   3. the exchange-rate saga's SET_EXCHANGE_RATE on the feed, and the
//      orders model picking it up        (query with `after`)
//   4. ratings changing and the classification saga's commands on the feed
//   5. a watching client being notified  (rill-notify)
//   6. an email campaign to the B customers: one .eml per recipient in
//      D/outbox/<campaign>/
//   7. the final state of every read model
// Every step checks its expectation; the caller exits 0 only if all held.
//
// Thread-safety: runs on the caller's thread.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "daemons/rill/demo_session.h"

namespace rill::cli {

struct demo_customer {
  std::string id, name, email, country;
  char expected = 'C';  // rating under the default thresholds (A >= 10000, B >= 1000 EUR)
};

struct demo_order {
  std::string id, customer_id, currency;
  double amount = 0;
};

// The people and orders of the demo. `tag` (may be empty) makes the ids
// unique when the demo runs against a rill that already holds data.
struct demo_cast {
  std::vector<demo_customer> customers;
  std::vector<demo_order> orders;
  std::string campaign;
  std::string updated_email;  // step 5 changes the second customer's email to this
};

demo_cast make_demo_cast(const std::string& tag);

// What the steps learn and hand on.
struct demo_progress {
  std::map<std::string, uint64_t> order_seq;  // order id -> seq of ORDER_CREATED
  uint64_t last_seq = 0;                      // highest seq the demo knows of
  uint64_t campaign_seq = 0;
};

void demo_create(demo_session& s, const demo_cast& c, demo_progress& p);       // steps 1-2
void demo_rates(demo_session& s, const demo_cast& c, demo_progress& p);        // step 3
void demo_ratings(demo_session& s, const demo_cast& c, demo_progress& p);      // step 4
void demo_notify(demo_session& s, const demo_cast& c, demo_progress& p);       // step 5
void demo_campaign(demo_session& s, const demo_cast& c, demo_progress& p);     // step 6
void demo_final_state(demo_session& s, const demo_cast& c, demo_progress& p);  // step 7

// Helpers shared by the steps.
uint64_t seq_of(const nlohmann::json& v);
std::string str_of(const nlohmann::json& v, const char* key);
bool is_event(const nlohmann::json& ev, const char* type, const std::string& id);

}  // namespace rill::cli
