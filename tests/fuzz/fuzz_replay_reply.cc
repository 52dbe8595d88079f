// libFuzzer target: arbitrary bytes as a reply from the replay endpoint, as
// event_source_replay reads it off its socket (readmodels/replay_reply.h:
// parse_replay_reply), then every event body it returns through the
// projector's event decoder (readmodels/projector_decode.h), which is what
// rill-proj does next. Aborts on what a crash would not show: an ok page that
// is not dense from the position asked for, an event body outside the reply,
// a head below the page's last seq, an error without a message.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "readmodels/projector_decode.h"
#include "readmodels/replay_reply.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace rill;
using namespace rill::readmodels;

void run(std::span<const char> reply, uint64_t pos, uint64_t req_id) {
  uint64_t head = 3;
  std::vector<source_event> page;
  std::string why;
  const source_status s = parse_replay_reply(reply, pos, req_id, head, page, why);
  if (s == source_status::end) return;
  if (s != source_status::ok) {
    FUZZ_REQUIRE(s == source_status::corrupt || s == source_status::unavailable);
    FUZZ_REQUIRE(!why.empty() && page.empty() && head == 3);
    return;
  }
  static event_decoder decoder;
  for (size_t k = 0; k < page.size(); ++k) {
    const auto& e = page[k];
    FUZZ_REQUIRE(e.seq == pos + k);
    FUZZ_REQUIRE(e.body.data() >= reply.data() &&
                 e.body.data() + e.body.size() <= reply.data() + reply.size());
    event_view v;
    if (decoder.decode(e.body, v, why) == errc::ok) FUZZ_REQUIRE(v.seq == e.seq);
  }
  if (!page.empty()) FUZZ_REQUIRE(head >= page.back().seq);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const char> reply(reinterpret_cast<const char*>(data), size);
  run(reply, 1, 1);
  return 0;
}
