#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace rill {
namespace {

TEST(Utf8, AcceptsAsciiAndMultibyte) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("hello, world: long enough for the 8-byte path"));
  EXPECT_TRUE(valid_utf8("caf\xC3\xA9"));                 // é
  EXPECT_TRUE(valid_utf8("\xE2\x82\xAC 12"));             // €
  EXPECT_TRUE(valid_utf8("\xF0\x9F\x98\x80 smile"));      // U+1F600
  EXPECT_TRUE(valid_utf8("\xF4\x8F\xBF\xBF"));            // U+10FFFF
  EXPECT_TRUE(valid_utf8(std::string("a\0b", 3)));        // NUL is valid UTF-8
  EXPECT_TRUE(valid_utf8("abcdefgh\xC3\xA9" "abcdefgh"));  // multibyte between fast runs
}

TEST(Utf8, RejectsMalformed) {
  EXPECT_FALSE(valid_utf8("\x80"));                 // stray continuation
  EXPECT_FALSE(valid_utf8("abc\xC3"));              // truncated 2-byte
  EXPECT_FALSE(valid_utf8("\xE2\x82"));             // truncated 3-byte
  EXPECT_FALSE(valid_utf8("\xF0\x9F\x98"));         // truncated 4-byte
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));             // overlong '/'
  EXPECT_FALSE(valid_utf8("\xC1\xBF"));             // overlong
  EXPECT_FALSE(valid_utf8("\xE0\x80\xAF"));         // overlong 3-byte
  EXPECT_FALSE(valid_utf8("\xF0\x80\x80\xAF"));     // overlong 4-byte
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));         // surrogate U+D800
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));     // U+110000
  EXPECT_FALSE(valid_utf8("\xF5\x80\x80\x80"));     // invalid lead
  EXPECT_FALSE(valid_utf8("\xFF"));
  EXPECT_FALSE(valid_utf8("\xC3\x28"));             // bad continuation
  EXPECT_FALSE(valid_utf8("0123456789abcdef\x80"));  // after a fast run
}

TEST(Utf8, LengthAndPrefix) {
  EXPECT_EQ(utf8_length("caf\xC3\xA9"), 4u);
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_prefix("caf\xC3\xA9", 4), "caf");  // does not split é
  EXPECT_EQ(utf8_prefix("caf\xC3\xA9", 5), "caf\xC3\xA9");
  EXPECT_EQ(utf8_prefix("abc", 10), "abc");
  EXPECT_TRUE(valid_utf8(utf8_prefix("\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 6)));
}

}  // namespace
}  // namespace rill
