// libFuzzer target: arbitrary bytes as a reply the sagas read off their
// DEALER sockets: rill-core's reply to a saga's command
// (readmodels/models/command_channel.h: command_channel::decode) and the
// rates service's reply to an exchange-rate lookup (rates_channel::decode).
// Aborts on what a crash would not show: a rate answered ok that is not a
// finite positive number, an answer for another currency, a failed command
// without an error code.
#include <cmath>
#include <cstdint>
#include <span>
#include <string>

#include "readmodels/models/command_channel.h"
#include "readmodels/models/rates_channel.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace rill::readmodels;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const char> body(reinterpret_cast<const char*>(data), size);
  command_channel::reply r;
  if (command_channel::decode(body, r)) {
    if (r.result == command_channel::outcome::failed) FUZZ_REQUIRE(!r.error.empty());
    FUZZ_REQUIRE(r.error.size() <= 64 && r.message.size() <= 512);
  }
  static const std::string expected = "USD";
  bool in_sync = true;
  const rates_channel::answer a = rates_channel::decode(body, expected, in_sync);
  FUZZ_REQUIRE(a.currency == expected);
  if (a.result == rates_channel::outcome::ok) {
    FUZZ_REQUIRE(in_sync && std::isfinite(a.rate) && a.rate > 0);
  } else {
    FUZZ_REQUIRE(!a.error.empty());
  }
  return 0;
}
