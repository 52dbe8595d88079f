#pragma once
// format_email: one plain-text email as an RFC 5322 message (with the MIME
// headers of RFC 2045), CRLF line ends throughout:
//
//   From: <from>
//   To: <to>
//   Subject: <subject>            printable ASCII as is; anything else (or a
//                                 long subject) as RFC 2047 "=?utf-8?B?...?="
//                                 encoded words, folded
//   Date: <RFC 5322 date, UTC>    from date_ns (wall clock)
//   Message-ID: <message_id>
//   MIME-Version: 1.0
//   Content-Type: text/plain; charset=utf-8
//   Content-Transfer-Encoding: 7bit | 8bit | base64
//
//   <body>                        line ends normalised to CRLF, ending in
//                                 CRLF; base64 when a line exceeds 998 bytes
//                                 or the body holds NUL
//
// Addresses are not rewritten: check them with valid_address first (a CR or
// LF in one would inject headers). Thread-safety: pure functions; thread-safe.
#include <cstdint>
#include <string>
#include <string_view>

namespace rill::readmodels {

struct email_message {
  std::string_view from, to, subject, body;
  std::string_view message_id;  // without the angle brackets
  uint64_t date_ns = 0;         // ns since the Unix epoch
};

std::string format_email(const email_message& m);

// True for an address that may go into From / To as is: at most 254 bytes,
// local@domain with both parts non-empty, no whitespace, control characters
// or header syntax characters ( <>()[],;:\" ). Non-ASCII (RFC 6532) is allowed.
bool valid_address(std::string_view addr);

// "Thu, 01 Jan 1970 00:00:00 +0000" for a time in ns since the epoch.
std::string rfc5322_date(uint64_t ns);

}  // namespace rill::readmodels
