#include "readmodels/models/safe_name.h"

#include <cstdio>

#include <xxhash.h>

namespace rill::readmodels {
namespace {

constexpr size_t max_len = 200;
constexpr size_t cut_len = 180;

bool plain(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

void escape(std::string& out, char marker, unsigned char c) {
  static constexpr char hex[] = "0123456789ABCDEF";
  out.push_back(marker);
  out.push_back(hex[c >> 4]);
  out.push_back(hex[c & 15]);
}

std::string shorten(std::string s, std::string_view id) {
  if (s.size() <= max_len) return s;
  s.resize(cut_len);
  char tail[20];
  std::snprintf(tail, sizeof tail, "~%016llx",
                static_cast<unsigned long long>(XXH3_64bits(id.data(), id.size())));
  s += tail;
  return s;
}

}  // namespace

std::string safe_file_name(std::string_view id) {
  std::string out;
  out.reserve(id.size() + 8);
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (plain(c) || (c == '.' && i != 0)) {
      out.push_back(c);
    } else {
      escape(out, '%', static_cast<unsigned char>(c));
    }
  }
  if (out.empty()) out = "%";  // the empty id; '%' alone is no escape of anything
  return shorten(std::move(out), id);
}

std::string safe_msgid_part(std::string_view id) {
  std::string out;
  out.reserve(id.size() + 8);
  for (char c : id) {
    if (plain(c)) {
      out.push_back(c);
    } else {
      escape(out, '=', static_cast<unsigned char>(c));
    }
  }
  if (out.empty()) out = "=";
  return shorten(std::move(out), id);
}

}  // namespace rill::readmodels
