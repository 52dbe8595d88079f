// Error messages that quote untrusted names (an unknown query field or
// argument) cut them at a character boundary, so the error reply stays
// UTF-8. Found by fuzz_query_request: the first 64 bytes of a long name
// could end in the middle of a multi-byte character.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "readmodels/models/query_args.h"
#include "readmodels/query_server_request.h"

namespace rill::readmodels {
namespace {

using json = nlohmann::json;

const std::string kLongName = std::string(63, 'x') + "\xc3\xa9";  // 'é' straddles byte 64

TEST(QueryQuote, UnknownFieldIsCutAtACharacterBoundary) {
  const auto v = json::to_msgpack(json{{"q", "get"}, {kLongName, 1}});
  const std::string bytes(v.begin(), v.end());
  msgpack::zone zone;
  query_request rq;
  std::string message;
  query_decode_options opt;
  ASSERT_EQ(decode_query({bytes.data(), bytes.size()}, zone, opt, rq, message), errc::bad_request);
  EXPECT_TRUE(valid_utf8(message)) << message;
  EXPECT_EQ(message, "unknown field: " + std::string(63, 'x'));
}

TEST(QueryQuote, UnknownArgumentIsCutAtACharacterBoundary) {
  const auto v = json::to_msgpack(json{{kLongName, 1}});
  msgpack::object_handle oh = msgpack::unpack(reinterpret_cast<const char*>(v.data()), v.size());
  std::string message;
  ASSERT_EQ(query_args(oh.get()).check_known({"id"}, message), errc::bad_request);
  EXPECT_TRUE(valid_utf8(message)) << message;
  EXPECT_EQ(message, "unknown argument '" + std::string(63, 'x') + "'");
}

}  // namespace
}  // namespace rill::readmodels
