#pragma once
// journal_stats: a read model built into the runtime, for operators and
// tests. It works on any domain: it counts the events of every aggregate and
// of every event type.
//
// Queries:
//   get     {agg, id} -> {agg, id, events, ver, last_seq, last_type}   (not_found)
//   totals  {}        -> {events, aggregates, types: {<type>: n}}
//   digest  {}        -> {digest: <16 hex digits>, events, aggregates}
//                        (an XXH3 of the saved state: equal digests = equal states)
// Change keys: "<agg>/<id>".
//
// save() is deterministic (entries sorted), so two instances that applied
// the same events save the same bytes whatever order their hash maps hold.
// Thread-safety: none (read_model contract).
#include <cstdint>
#include <memory>
#include <string>

#include <absl/container/flat_hash_map.h>

#include "readmodels/read_model.h"

namespace rill::readmodels {

class journal_stats final : public read_model {
 public:
  static constexpr std::string_view kName = "journal_stats";

  std::string_view name() const override { return kName; }
  void apply(const event_view& e, change_set& changed) override;
  errc query(std::string_view q, const msgpack::object& args, packer& result,
             std::string& message) const override;
  void save(out_buffer& out) const override;
  [[nodiscard]] bool load(std::span<const char> bytes, std::string& error) override;
  std::unique_ptr<read_model> clone_empty() const override;

  uint64_t events() const { return events_; }
  size_t aggregates() const { return by_agg_.size(); }

 private:
  struct entry {
    uint64_t events = 0, ver = 0, last_seq = 0;
    std::string last_type;
  };
  // Key: agg + '\0' + id (no valid aggregate type contains NUL).
  absl::flat_hash_map<std::string, entry> by_agg_;
  absl::flat_hash_map<std::string, uint64_t> by_type_;
  uint64_t events_ = 0;
  std::string key_;  // reused by apply()
};

}  // namespace rill::readmodels
