// libFuzzer target: rill-core's index checkpoint (D/index/checkpoint.idx,
// core/index_checkpoint.h) as it is read back at start: validator::load on
// the file's bytes, then the loaded state serialized and loaded again.
//
// Input layout: byte 0 = flags, the rest = the checkpoint bytes.
//   flags bit 0: overwrite the last 8 bytes with the right XXH3 checksum
//                first, so that the fuzzer gets past the checksum into the
//                index and key tables.
// Aborts on what a crash would not show: a loaded checkpoint whose state does
// not serialize and load back to the same counts, seq and size.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include <xxhash.h>

#include "core/buffer.h"
#include "core/index_checkpoint.h"
#include "core/schema.h"
#include "core/validator.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace rill;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) && body.size() >= index_checkpoint::checksum_size) {
    const size_t payload = body.size() - index_checkpoint::checksum_size;
    const uint64_t sum = XXH3_64bits(body.data(), payload);
    std::memcpy(body.data() + payload, &sum, sizeof sum);
  }
  validator val(schema::default_schema(), validator_options{.max_keys = 64});
  uint64_t seq = 0;
  if (!val.load({body.data(), body.size()}, seq)) {
    FUZZ_REQUIRE(val.aggregate_count() == 0 && val.key_count() == 0);  // untouched
    return 0;
  }
  out_buffer once;
  val.serialize(once, seq);
  validator back(schema::default_schema(), validator_options{.max_keys = 64});
  uint64_t at = 0;
  FUZZ_REQUIRE(back.load(once.span(), at) && at == seq);
  FUZZ_REQUIRE(back.aggregate_count() == val.aggregate_count() &&
               back.key_count() == val.key_count());
  out_buffer twice;
  back.serialize(twice, at);
  FUZZ_REQUIRE(twice.size() == once.size());  // same entries (hash order may differ)
  return 0;
}
