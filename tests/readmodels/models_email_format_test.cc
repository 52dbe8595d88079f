// RFC 5322 message formatting and safe names for untrusted ids.
#include <regex>

#include <gtest/gtest.h>

#include "readmodels/models/email_message.h"
#include "readmodels/models/safe_name.h"

namespace rill::readmodels {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t from = 0;
  while (from < text.size()) {
    const size_t end = text.find("\r\n", from);
    EXPECT_NE(end, std::string::npos) << "unterminated last line";
    if (end == std::string::npos) break;
    lines.push_back(text.substr(from, end - from));
    from = end + 2;
  }
  return lines;
}

TEST(ModelsEmailFormat, HeadersBodyAndLineEnds) {
  const std::string text = format_email({"rill@localhost", "ann@example.com", "Summer offer",
                                         "Hello Ann,\nline two\r\nline three\rend", "k1.c1@rill",
                                         1'700'000'000'123'456'789ull});
  // Every LF is part of a CRLF and there is no bare CR.
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      ASSERT_TRUE(i > 0 && text[i - 1] == '\r') << i;
    }
    if (text[i] == '\r') {
      ASSERT_TRUE(i + 1 < text.size() && text[i + 1] == '\n') << i;
    }
  }
  EXPECT_EQ(lines_of(text), (std::vector<std::string>{
                                "From: rill@localhost",
                                "To: ann@example.com",
                                "Subject: Summer offer",
                                "Date: Tue, 14 Nov 2023 22:13:20 +0000",
                                "Message-ID: <k1.c1@rill>",
                                "MIME-Version: 1.0",
                                "Content-Type: text/plain; charset=utf-8",
                                "Content-Transfer-Encoding: 7bit",
                                "",
                                "Hello Ann,",
                                "line two",
                                "line three",
                                "end",
                            }));
}

TEST(ModelsEmailFormat, NonAsciiAndHostileSubjectsAreEncodedWords) {
  const std::string subject =
      "Grüße aus Köln\r\nBcc: victim@example.com, und mehr Text, damit es lang wird";
  const std::string text = format_email({"a@b", "c@d", subject, "Tschüß", "x@rill", 0});
  const auto lines = lines_of(text);
  ASSERT_GE(lines.size(), 4u);
  // The subject is folded encoded words; no line is a header injected by it.
  size_t i = 2;
  EXPECT_EQ(lines[i].rfind("Subject: =?utf-8?B?", 0), 0u) << lines[i];
  while (++i < lines.size() && lines[i].rfind(" =?utf-8?B?", 0) == 0) {
    EXPECT_LE(lines[i].size(), 76u);
  }
  EXPECT_EQ(lines[i].rfind("Date: Thu, 01 Jan 1970 00:00:00 +0000", 0), 0u);
  for (const std::string& l : lines) EXPECT_NE(l.rfind("Bcc:", 0), 0u) << l;
  EXPECT_NE(text.find("Content-Transfer-Encoding: 8bit"), std::string::npos);
  EXPECT_NE(text.find("\r\n\r\nTschüß\r\n"), std::string::npos);
}

TEST(ModelsEmailFormat, LongLinesAndNulGoBase64) {
  const std::string body(3000, 'x');
  const std::string text = format_email({"a@b", "c@d", "s", body, "x@rill", 0});
  EXPECT_NE(text.find("Content-Transfer-Encoding: base64"), std::string::npos);
  for (const std::string& l : lines_of(text)) EXPECT_LE(l.size(), 998u);
  const std::string nul = format_email({"a@b", "c@d", "s", std::string("a\0b", 3), "x@rill", 0});
  EXPECT_NE(nul.find("Content-Transfer-Encoding: base64\r\n\r\nYQBiDQo=\r\n"), std::string::npos)
      << nul;
}

TEST(ModelsEmailFormat, AddressesThatCouldInjectHeadersAreInvalid) {
  EXPECT_TRUE(valid_address("ann@example.com"));
  EXPECT_TRUE(valid_address("jörg@bücher.de"));
  EXPECT_TRUE(valid_address("rill@localhost"));
  EXPECT_FALSE(valid_address(""));
  EXPECT_FALSE(valid_address("no-at"));
  EXPECT_FALSE(valid_address("@example.com"));
  EXPECT_FALSE(valid_address("ann@"));
  EXPECT_FALSE(valid_address("a@b\r\nBcc: x@y"));
  EXPECT_FALSE(valid_address("a@b, c@d"));
  EXPECT_FALSE(valid_address("Ann <a@b>"));
  EXPECT_FALSE(valid_address(std::string("a@b\0c", 5)));
  EXPECT_FALSE(valid_address(std::string(251, 'a') + "@b.c"));
}

TEST(ModelsEmailFormat, SafeFileNames) {
  EXPECT_EQ(safe_file_name("c-1_x.y"), "c-1_x.y");
  EXPECT_EQ(safe_file_name("a/b"), "a%2Fb");
  EXPECT_EQ(safe_file_name(".."), "%2E.");
  EXPECT_EQ(safe_file_name("."), "%2E");
  EXPECT_EQ(safe_file_name("../../etc/passwd"), "%2E.%2F..%2Fetc%2Fpasswd");
  EXPECT_EQ(safe_file_name(std::string("a\0b", 3)), "a%00b");
  EXPECT_EQ(safe_file_name("50%"), "50%25");
  EXPECT_EQ(safe_file_name("ü"), "%C3%BC");
  EXPECT_EQ(safe_file_name(""), "%");
  // Distinct ids give distinct names, long ones included, all short enough.
  std::set<std::string> names;
  const std::vector<std::string> ids = {"a/b",
                                        "a%2Fb",
                                        "a_b",
                                        std::string(300, 'x'),
                                        std::string(299, 'x') + "y",
                                        std::string(128, '/'),
                                        std::string(127, '/') + "."};
  for (const std::string& id : ids) {
    const std::string n = safe_file_name(id);
    EXPECT_LE(n.size(), 200u);
    EXPECT_EQ(n.find('/'), std::string::npos);
    EXPECT_EQ(n.find('\0'), std::string::npos);
    EXPECT_TRUE(names.insert(n).second) << n;
  }
}

TEST(ModelsEmailFormat, SafeMessageIdParts) {
  EXPECT_EQ(safe_msgid_part("k1"), "k1");
  EXPECT_EQ(safe_msgid_part("a.b@c"), "a=2Eb=40c");
  EXPECT_EQ(safe_msgid_part("x y>"), "x=20y=3E");
  const std::regex dot_atom_text("[A-Za-z0-9=_-]+");
  EXPECT_TRUE(std::regex_match(safe_msgid_part("<>\r\n\"ü"), dot_atom_text));
}

TEST(ModelsEmailFormat, Dates) {
  EXPECT_EQ(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(rfc5322_date(951'782'400'000'000'000ull), "Tue, 29 Feb 2000 00:00:00 +0000");
}

}  // namespace
}  // namespace rill::readmodels
