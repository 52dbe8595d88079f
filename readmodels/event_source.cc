#include "readmodels/event_source.h"

namespace rill::readmodels {

const char* to_string(source_status s) {
  switch (s) {
    case source_status::ok:
      return "ok";
    case source_status::end:
      return "end";
    case source_status::unavailable:
      return "unavailable";
    case source_status::corrupt:
      return "corrupt";
  }
  return "unknown";
}

}  // namespace rill::readmodels
