#pragma once
// Test helpers for the default domain's models: a scripted event log that
// owns its events' bytes, a query helper with JSON in and out, and a private
// temporary directory.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/buffer.h"
#include "core/event.h"
#include "core/msgpack.h"
#include "readmodels/read_model.h"
#include "readmodels/registry.h"
#include "readmodels/saga.h"
#include "tests/support/child_process.h"

namespace rill::readmodels::testing {

using json = nlohmann::json;

// Events with dense seqs from 1 and per-aggregate versions, as rill-core
// would journal them. Views stay valid while the log lives.
class event_log {
 public:
  const event_view& add(std::string_view type, std::string_view agg, std::string_view id,
                        const json& data) {
    auto& s = store_.emplace_back();
    s.type = type;
    s.agg = agg;
    s.id = id;
    const std::vector<uint8_t> bytes = json::to_msgpack(data);
    s.data = msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    s.view.seq = store_.size();
    s.view.ts = 1'700'000'000'000'000'000ull + s.view.seq * 1'000'000'000ull;
    s.view.type = s.type;
    s.view.agg = s.agg;
    s.view.id = s.id;
    s.view.ver = ++versions_[s.agg + "/" + s.id];
    s.view.data = &s.data.get();
    return s.view;
  }
  // Shorthands for the domain's events.
  const event_view& customer(std::string_view id, std::string_view name, std::string_view email,
                             const char* country = nullptr) {
    json d = {{"name", name}, {"email", email}};
    if (country != nullptr) d["country"] = country;
    return add("CUSTOMER_CREATED", "customer", id, d);
  }
  const event_view& order(std::string_view id, std::string_view customer, double amount,
                          std::string_view currency) {
    json d = {{"customer_id", customer}, {"currency", currency}};
    if (amount == static_cast<double>(static_cast<uint64_t>(amount))) {
      d["amount"] = static_cast<uint64_t>(amount);
    } else {
      d["amount"] = amount;
    }
    return add("ORDER_CREATED", "order", id, d);
  }
  const event_view& rate(std::string_view order, double rate, std::string_view base = "EUR") {
    return add("EXCHANGE_RATE_SET", "order", order, {{"rate", rate}, {"base", base}});
  }
  // `key`: the command's idempotency key (a saga's), empty for none.
  const event_view& classify(std::string_view customer, std::string_view cls,
                             std::string_view key = {}) {
    const event_view& v =
        add("CUSTOMER_CLASSIFICATION_UPDATED", "customer", customer, {{"classification", cls}});
    store_.back().key = key;
    store_.back().view.key = store_.back().key;
    return v;
  }
  const event_view& campaign(std::string_view id, std::string_view segment,
                             std::string_view subject, std::string_view body) {
    return add("EMAIL_CAMPAIGN_STARTED", "campaign", id,
               {{"segment", segment}, {"subject", subject}, {"body", body}});
  }

  size_t size() const { return store_.size(); }
  const event_view& operator[](size_t i) const { return store_[i].view; }

  // Applies events [from, size()) to m; returns the keys reported changed.
  std::vector<std::string> apply_to(read_model& m, size_t from = 0) const {
    change_set changed;
    for (size_t i = from; i < store_.size(); ++i) m.apply(store_[i].view, changed);
    return changed.keys();
  }

 private:
  struct stored {
    std::string type, agg, id;
    std::string key;
    msgpack::object_handle data;
    event_view view;
  };
  std::deque<stored> store_;
  std::map<std::string, uint64_t> versions_;
};

// A random log of every kind the default models read, plus kinds none of
// them reads (on their aggregates and on another one); `n` steps, each one
// or two events.
inline event_log random_domain_log(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  auto pick = [&](size_t k) { return static_cast<size_t>(rng() % k); };
  event_log log;
  size_t customers = 0, orders = 0;
  const char* classes[] = {"A", "B", "C"};
  const char* currencies[] = {"EUR", "USD", "GBP"};
  for (int i = 0; i < n; ++i) {
    const size_t k = customers == 0 ? 0 : pick(100);
    if (k < 15) {
      const std::string id = "c" + std::to_string(customers++);
      log.customer(id, "name " + id, id + "@x.org", pick(2) ? "DE" : nullptr);
    } else if (k < 22) {
      log.add("CUSTOMER_UPDATED", "customer", "c" + std::to_string(pick(customers)),
              {{"name", "renamed " + std::to_string(i)}});
    } else if (k < 30) {
      log.classify("c" + std::to_string(pick(customers)), classes[pick(3)]);
    } else if (k < 75) {
      log.order("o" + std::to_string(orders++), "c" + std::to_string(pick(customers)),
                static_cast<double>(1 + pick(5000)), currencies[pick(3)]);
    } else if (k < 97 && orders > 0) {
      log.rate("o" + std::to_string(pick(orders)), 0.5 + static_cast<double>(pick(4)));
    } else if (k < 99) {
      log.campaign("k" + std::to_string(i), classes[pick(3)], "subject", "body");
    } else {  // kinds no default model reads, on their aggregates and another
      log.add(pick(2) ? "CUSTOMER_NOTED" : "ORDER_SHIPPED", pick(2) ? "customer" : "order",
              "c" + std::to_string(pick(customers)), {{"name", "n"}, {"rate", 2.0}});
      log.add("ITEM_ADDED", "basket", "b" + std::to_string(i), json::object());
    }
  }
  return log;
}

// Encoded bodies of a log, as the journal stores them.
inline std::vector<std::string> encode_all(const event_log& log) {
  std::vector<std::string> bodies;
  out_buffer buf;
  for (size_t i = 0; i < log.size(); ++i) {
    buf.clear();
    encode_event(buf, log[i]);
    bodies.emplace_back(buf.span().data(), buf.span().size());
  }
  return bodies;
}

struct answer {
  errc code = errc::ok;
  json result;
  std::string message;
};

inline answer ask(const read_model& m, std::string_view q, const json& args = json::object()) {
  const std::vector<uint8_t> bytes = json::to_msgpack(args);
  msgpack::object_handle oh =
      msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  out_buffer out;
  packer pk(out);
  answer a;
  a.code = m.query(q, oh.get(), pk, a.message);
  if (a.code == errc::ok) {
    // Exactly one value must have been packed.
    a.result = json::from_msgpack(out.data(), out.data() + out.size());
  }
  return a;
}

// The answer's result; fails the test unless the query succeeded.
inline json ok(const read_model& m, std::string_view q, const json& args = json::object()) {
  answer a = ask(m, q, args);
  EXPECT_EQ(a.code, errc::ok) << q << " " << args.dump() << ": " << a.message;
  return a.result;
}

inline std::string saved(const read_model& m) {
  out_buffer out;
  m.save(out);
  return std::string(out.view());
}

// A private temporary directory, removed with everything in it.
class temp_dir : public rill::test::temp_dir {
 public:
  temp_dir() : rill::test::temp_dir("rill-models") {}
  std::string str() const { return path().string(); }
};

// A model_config for tests: data dir and endpoints under `dir`.
inline model_config config_in(const temp_dir& dir, json settings = json::object()) {
  model_config cfg;
  cfg.data_dir = dir.str();
  cfg.command_endpoint = "ipc://" + dir.str() + "/core.sock";
  cfg.rates_endpoint = "ipc://" + dir.str() + "/rates.sock";
  cfg.settings = std::move(settings);
  return cfg;
}

// Every default model (sagas with their side effects off), fed the encoded
// `log` through feed(model, bodies, name), the applier under test, ends with
// the same snapshot, byte for byte, as itself applied one event at a time.
template <class Feed>
void expect_every_model_as_applied_one_at_a_time(const event_log& log, Feed feed) {
  temp_dir dir;
  const auto bodies = encode_all(log);
  for (const std::string& name : model_names()) {
    const bool saga =
        name == "customer_analysis" || name == "email_campaigns" || name == "exchange_rates";
    auto cfg = config_in(dir, saga ? json{{"saga", false}} : json::object());
    auto plain = make_model(name, cfg);
    auto fed = make_model(name, cfg);
    ASSERT_NE(plain, nullptr) << name;
    log.apply_to(*plain);
    feed(*fed, bodies, name);
    EXPECT_EQ(saved(*plain), saved(*fed)) << name;
  }
}

}  // namespace rill::readmodels::testing
