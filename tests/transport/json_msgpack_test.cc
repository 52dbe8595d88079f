#include "transport/json_msgpack.h"

#include <gtest/gtest.h>

namespace rill::transport {
namespace {

nlohmann::json decode(const std::string& bytes) {
  return msgpack_to_json(bytes);
}

TEST(JsonMsgpack, DecodesWhatNlohmannDecodes) {
  const nlohmann::json j = {{"ok", true}, {"n", -3}, {"s", "é"}, {"a", {1, 2.5, nullptr}}};
  const auto bytes = nlohmann::json::to_msgpack(j);
  EXPECT_EQ(decode(std::string(bytes.begin(), bytes.end())), j);
}

// A map key that is not a string (events journaled before the core refused
// them) becomes its JSON text instead of making the whole value unreadable.
TEST(JsonMsgpack, NonStringKeysBecomeTheirJsonText) {
  // {"events": [{"m": {1: 2, [1]: true}}]}
  const std::string bytes(
      "\x81\xa6"
      "events\x91\x81\xa1m\x82\x01\x02\x91\x01\xc3",
      18);
  const auto j = decode(bytes);
  ASSERT_TRUE(j.is_object()) << j.dump();
  EXPECT_EQ(j["events"][0]["m"]["1"], 2);
  EXPECT_EQ(j["events"][0]["m"]["[1]"], true);
}

TEST(JsonMsgpack, GarbageIsDiscarded) {
  EXPECT_TRUE(decode(std::string("\xc1", 1)).is_discarded());
  EXPECT_TRUE(decode(std::string("\x92\x01", 2)).is_discarded()) << "an array cut short";
  EXPECT_TRUE(decode("").is_discarded());
}

}  // namespace
}  // namespace rill::transport
