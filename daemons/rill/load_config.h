#pragma once
// load_config: everything `rill load` is asked to do, filled from its flags
// and checked once by validate() before any connection is made.
//
// Thread-safety: plain data, read-only once the load starts.
#include <cstdint>
#include <string>

namespace rill::cli {

// Percent of commands of each kind; they sum to 100.
struct load_mix {
  uint32_t create = 100;  // CREATE_CUSTOMER with a fresh id
  uint32_t update = 0;    // UPDATE_CUSTOMER of a customer this connection created
  uint32_t order = 0;     // CREATE_ORDER (fresh id) for a customer this connection created
};

struct load_config {
  uint32_t connections = 1;     // client threads, each with its own DEALER
  uint32_t window = 1;          // requests in flight per connection (closed loop)
  double rate = 0;              // commands/s over all connections; 0 = closed loop
  double duration_s = 5;        // stop sending after this long (unless count is set)
  uint64_t count = 0;           // stop after this many commands (0: use duration)
  load_mix mix;
  uint32_t batch = 1;           // commands per request (1: plain commands)
  bool atomic = false;          // batches are atomic
  uint32_t payload = 0;         // pad customer names to this many bytes
  bool visible = false;         // also measure command -> event on the feed
  bool visible_journal = false;  // also measure command -> event read from the local journal
  std::string after_model;      // also measure command -> model answers `after`
  std::string notified;         // also measure command -> `changed` note for this model
  std::string plot;             // SVG file to write
  double drain_timeout_s = 30;  // how long to wait for the last replies
  uint32_t spin_us = 0;         // closed loop: poll without blocking this long before sleeping

  bool open_loop() const { return rate > 0; }
};

// Parses "create:70,update:20,order:10" (kinds omitted are 0). False with a
// message if malformed or the percentages do not sum to 100.
bool parse_mix(const std::string& text, load_mix& mix, std::string& error);

// Checks ranges and combinations; false with a message.
bool validate(const load_config& c, std::string& error);

}  // namespace rill::cli
