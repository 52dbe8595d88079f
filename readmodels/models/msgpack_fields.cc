#include "readmodels/models/msgpack_fields.h"

#include <cmath>
#include <cstdint>

namespace rill::readmodels {

void pack_number(packer& pk, double v) {
  constexpr double exact_limit = 9007199254740992.0;  // 2^53
  if (std::isfinite(v) && std::fabs(v) < exact_limit && std::trunc(v) == v) {
    if (v >= 0) {
      pk.pack_uint64(static_cast<uint64_t>(v));
    } else {
      pk.pack_int64(static_cast<int64_t>(v));
    }
    return;
  }
  pk.pack_double(v);
}

void pack_str(packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

}  // namespace rill::readmodels
