#include "store/status.h"

namespace rill::store {

std::string_view to_string(io_status s) {
  switch (s) {
    case io_status::ok: return "ok";
    case io_status::end_of_log: return "end_of_log";
    case io_status::too_large: return "too_large";
    case io_status::io_error: return "io_error";
    case io_status::corrupt: return "corrupt";
    case io_status::invalid_argument: return "invalid_argument";
  }
  return "unknown";
}

}  // namespace rill::store
