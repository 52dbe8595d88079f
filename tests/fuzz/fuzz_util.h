#pragma once
// Helpers shared by the fuzz targets and the corpus generator: the default
// domain's models (sagas off, no sockets) filled with a small scripted event
// log, a private directory on tmpfs, and the checks a target aborts on.
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/buffer.h"
#include "core/event.h"
#include "core/msgpack.h"
#include "core/msgpack_cursor.h"
#include "readmodels/read_model.h"
#include "readmodels/registry.h"

#define FUZZ_REQUIRE(x) ::rill::fuzz::require_at(static_cast<bool>(x), #x, __FILE__, __LINE__)

namespace rill::fuzz {

using json = nlohmann::json;

// Aborts, naming the failed check, unless ok. Use through FUZZ_REQUIRE.
inline void require_at(bool ok, const char* what, const char* file, int line) {
  if (ok) return;
  std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
  std::abort();
}

// True when `bytes` is exactly one MessagePack value (structure only).
inline bool one_value(std::span<const char> bytes) {
  msgpack_cursor c(bytes);
  return c.skip() && c.at_end();
}

// A private directory under /dev/shm (or /tmp), made once per process and
// removed at exit.
inline const std::filesystem::path& scratch_dir() {
  struct dir_t {
    std::filesystem::path path;
    dir_t() {
      std::filesystem::path root = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
      std::string tmpl = (root / "rill-fuzz-XXXXXX").string();
      if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
      path = tmpl;
    }
    ~dir_t() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const dir_t dir;
  return dir.path;
}

// Events with dense seqs from 1, as rill-core journals them; the views stay
// valid while the log lives.
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
  size_t size() const { return store_.size(); }
  const event_view& operator[](size_t i) const { return store_[i].view; }
  void apply_to(readmodels::read_model& m) const {
    readmodels::change_set changed;
    for (const auto& s : store_) m.apply(s.view, changed);
  }

 private:
  struct stored {
    std::string type, agg, id;
    msgpack::object_handle data;
    event_view view;
  };
  std::deque<stored> store_;
  std::map<std::string, uint64_t> versions_;
};

// A few customers, orders, rates, classifications and a campaign.
inline const event_log& domain_log() {
  static const event_log log = [] {
    event_log l;
    l.add("CUSTOMER_CREATED", "customer", "c1",
          {{"name", "Ada"}, {"email", "ada@example.com"}, {"country", "UK"}});
    l.add("CUSTOMER_CREATED", "customer", "c2", {{"name", "Bob"}, {"email", "bob@example.com"}});
    l.add("ORDER_CREATED", "order", "o1",
          {{"customer_id", "c1"}, {"amount", 120}, {"currency", "USD"}});
    l.add("ORDER_CREATED", "order", "o2",
          {{"customer_id", "c2"}, {"amount", 7.5}, {"currency", "EUR"}});
    l.add("EXCHANGE_RATE_SET", "order", "o1", {{"rate", 0.9}, {"base", "EUR"}});
    l.add("EXCHANGE_RATE_SET", "order", "o2", {{"rate", 1.0}, {"base", "EUR"}});
    l.add("CUSTOMER_CLASSIFICATION_UPDATED", "customer", "c1", {{"classification", "A"}});
    l.add("EMAIL_CAMPAIGN_STARTED", "campaign", "k1",
          {{"segment", "A"}, {"subject", "Hi"}, {"body", "Hello {{name}}"}});
    return l;
  }();
  return log;
}

inline bool is_saga(std::string_view name) {
  return name == "customer_analysis" || name == "email_campaigns" || name == "exchange_rates";
}

// A new, empty default model `name` (saga side off: no sockets, no outbox).
inline std::unique_ptr<readmodels::read_model> make_model(const std::string& name) {
  readmodels::model_config cfg;
  cfg.data_dir = scratch_dir().string();
  cfg.command_endpoint = "ipc://" + cfg.data_dir + "/core.sock";
  cfg.rates_endpoint = "ipc://" + cfg.data_dir + "/rates.sock";
  if (is_saga(name)) cfg.settings = json{{"saga", false}};
  auto m = readmodels::make_model(name, cfg);
  FUZZ_REQUIRE(m != nullptr);
  return m;
}

// Every default model, with domain_log() applied.
inline std::vector<std::unique_ptr<readmodels::read_model>> filled_models() {
  std::vector<std::unique_ptr<readmodels::read_model>> v;
  for (const auto& name : readmodels::model_names()) {
    v.push_back(make_model(name));
    domain_log().apply_to(*v.back());
  }
  return v;
}

}  // namespace rill::fuzz
