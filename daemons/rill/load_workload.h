#pragma once
// load_workload: builds the MessagePack requests one load connection sends,
// with msgpack-c's packer into a reused out_buffer (no JSON on the hot path).
//
// Ids are unique per run and connection: "<run tag>-<connection>-<n>", the
// run tag made of the pid and the start time, so creates never collide with
// an earlier run on the same data directory. Updates and orders name a
// customer this connection created earlier in the run; rill-core handles one
// connection's requests in order, so that create is processed first.
//
// Ownership: owns its buffer and counters; the returned span is valid until
// the next call. Thread-safety: not thread-safe; one per connection.
#include <cstdint>
#include <span>
#include <string>

#include "core/buffer.h"
#include "core/msgpack.h"
#include "daemons/rill/load_config.h"

namespace rill::cli {

class load_workload {
 public:
  load_workload(const load_config& cfg, std::string run_tag, uint32_t connection);

  // One request of `size` commands (a plain command when cfg.batch is 1; a
  // batch otherwise, shorter than cfg.batch only for the last one of a
  // --count) carrying `req`. With `stamp_ns` != 0 every command carries the
  // correlation id "<run tag>:<stamp_ns>" so that its event can be timed.
  std::span<const char> next(uint64_t req, int64_t stamp_ns, uint32_t size);

  uint64_t customers_created() const { return customers_; }

 private:
  void pack_command(int64_t stamp_ns);
  void pack_str(std::string_view s);
  uint32_t pick_kind();
  uint64_t random();

  const load_config& cfg_;
  std::string tag_;         // "<run tag>-<connection>-"
  std::string corr_prefix_; // "<run tag>:"
  std::string name_;        // padded name template
  out_buffer buf_;
  msgpack::packer<out_buffer> pk_;
  uint64_t customers_ = 0;
  uint64_t orders_ = 0;
  uint64_t rng_;
  std::string scratch_;
};

}  // namespace rill::cli
