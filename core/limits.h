#pragma once
// Size limits applied to every request before it is trusted (PROTOCOL.md).
// One struct so a daemon's options can carry and override it as a whole.
#include <cstddef>

namespace rill {

struct limits {
  // A request body larger than this is answered with too_large.
  size_t max_request_bytes = 1 << 20;
  // Commands in one batch; more is too_large.
  size_t max_batch = 4096;
  // Aggregate id length in bytes (1..max_id_len).
  size_t max_id_len = 128;
  // Idempotency key (and correlation id) length in bytes (1..max_key_len).
  size_t max_key_len = 256;
  // Nesting depth of containers in a request (the root map is depth 1);
  // deeper is bad_request. Values above 256 are treated as 256.
  size_t max_depth = 32;
  // Total number of values (scalars and containers) in one request; more is
  // bad_request. Bounds the memory the decoder allocates per message.
  size_t max_elements = 1 << 20;
};

}  // namespace rill
