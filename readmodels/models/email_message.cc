#include "readmodels/models/email_message.h"

#include <cstdio>
#include <ctime>

#include "core/utf8.h"

namespace rill::readmodels {
namespace {

constexpr std::string_view crlf = "\r\n";
constexpr size_t max_line = 998;           // RFC 5322 2.1.1
constexpr size_t max_plain_subject = 900;  // "Subject: " + this stays under max_line
constexpr size_t encoded_chunk = 45;       // bytes per encoded word: 60 base64 chars

void base64(std::string& out, std::string_view in) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(in[i]) << 16) |
                       (static_cast<uint8_t>(in[i + 1]) << 8) | static_cast<uint8_t>(in[i + 2]);
    out.push_back(table[v >> 18]);
    out.push_back(table[(v >> 12) & 63]);
    out.push_back(table[(v >> 6) & 63]);
    out.push_back(table[v & 63]);
  }
  if (i + 1 == in.size()) {
    const uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out.push_back(table[v >> 18]);
    out.push_back(table[(v >> 12) & 63]);
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out.push_back(table[v >> 18]);
    out.push_back(table[(v >> 12) & 63]);
    out.push_back(table[(v >> 6) & 63]);
    out.push_back('=');
  }
}

bool printable_ascii(std::string_view s) {
  for (char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

void append_subject(std::string& out, std::string_view subject) {
  out += "Subject:";
  if (subject.empty()) {
    out += crlf;
    return;
  }
  if (printable_ascii(subject) && subject.size() <= max_plain_subject &&
      subject.find("=?") == std::string_view::npos) {
    out += ' ';
    out += subject;
    out += crlf;
    return;
  }
  // RFC 2047 encoded words of whole characters, one per folded line.
  while (!subject.empty()) {
    std::string_view chunk = utf8_prefix(subject, encoded_chunk);
    if (chunk.empty()) chunk = subject.substr(0, 1);  // not UTF-8: never loop forever
    out += " =?utf-8?B?";
    base64(out, chunk);
    out += "?=";
    subject.remove_prefix(chunk.size());
    out += crlf;  // the next word, if any, continues on a folded line (" =?...")
  }
}

// The body with every line end as CRLF and a final CRLF.
std::string normalise_body(std::string_view body) {
  std::string out;
  out.reserve(body.size() + body.size() / 32 + 2);
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\r') {
      if (i + 1 < body.size() && body[i + 1] == '\n') ++i;
      out += crlf;
    } else if (c == '\n') {
      out += crlf;
    } else {
      out.push_back(c);
    }
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, crlf) != 0) out += crlf;
  return out;
}

}  // namespace

bool valid_address(std::string_view addr) {
  if (addr.empty() || addr.size() > 254) return false;
  const size_t at = addr.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == addr.size()) return false;
  for (char c : addr) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
    if (std::string_view("<>()[],;:\\\"").find(c) != std::string_view::npos) return false;
  }
  return addr.substr(0, at).find('@') == std::string_view::npos;
}

std::string rfc5322_date(uint64_t ns) {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto secs = static_cast<time_t>(ns / 1'000'000'000ull);
  std::tm tm{};
  if (gmtime_r(&secs, &tm) == nullptr) return "Thu, 01 Jan 1970 00:00:00 +0000";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
                tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string format_email(const email_message& m) {
  const std::string body = normalise_body(m.body);
  bool ascii = true, needs_base64 = false;
  size_t line = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    const auto c = static_cast<unsigned char>(body[i]);
    if (c == 0) needs_base64 = true;
    if (c >= 0x80) ascii = false;
    if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n') {
      line = 0;
      ++i;
    } else if (++line > max_line) {
      needs_base64 = true;
    }
  }
  std::string out;
  out.reserve(body.size() * (needs_base64 ? 2 : 1) + 512);
  out += "From: ";
  out += m.from;
  out += crlf;
  out += "To: ";
  out += m.to;
  out += crlf;
  append_subject(out, m.subject);
  out += "Date: ";
  out += rfc5322_date(m.date_ns);
  out += crlf;
  out += "Message-ID: <";
  out += m.message_id;
  out += '>';
  out += crlf;
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: ";
  out += needs_base64 ? "base64" : (ascii ? "7bit" : "8bit");
  out += crlf;
  out += crlf;
  if (!needs_base64) {
    out += body;
    return out;
  }
  std::string encoded;
  base64(encoded, body);
  for (size_t i = 0; i < encoded.size(); i += 76) {
    out.append(encoded, i, 76);
    out += crlf;
  }
  return out;
}

}  // namespace rill::readmodels
