#include "daemons/rill/output.h"

#include <algorithm>

namespace rill::cli {

namespace {

bool looks_numeric(const std::string& s) {
  if (s.empty()) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (!(std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.' || s[i] == 'e' ||
          s[i] == 'E' || s[i] == '+' || s[i] == '-' || s[i] == '%'))
      return false;
  return true;
}

bool is_flat_object(const nlohmann::json& v) {
  if (!v.is_object()) return false;
  return std::all_of(v.begin(), v.end(),
                     [](const nlohmann::json& x) { return !x.is_structured(); });
}

}  // namespace

std::string scalar_text(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", d);
    return buf;
  }
  return v.dump();
}

void print_table(std::ostream& out, const std::vector<std::string>& headers,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(headers.size(), 0);
  std::vector<bool> numeric(headers.size(), true);
  for (size_t c = 0; c < headers.size(); ++c) width[c] = headers[c].size();
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], r[c].size());
      if (r[c] != "-" && !looks_numeric(r[c])) numeric[c] = false;
    }
  auto line = [&](const std::vector<std::string>& cells, bool header) {
    std::string s;
    for (size_t c = 0; c < headers.size(); ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      const size_t pad = width[c] - std::min(width[c], cell.size());
      const bool right = numeric[c] && !header;
      if (right) s.append(pad, ' ');
      s += cell;
      if (!right && c + 1 < headers.size()) s.append(pad, ' ');
      if (c + 1 < headers.size()) s += "  ";
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << '\n';
  };
  line(headers, true);
  for (const auto& r : rows) line(r, false);
  out.flush();
}

void print_value(std::ostream& out, const nlohmann::json& v) {
  if (v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), is_flat_object)) {
    std::vector<std::string> headers;
    for (const auto& row : v)
      for (auto it = row.begin(); it != row.end(); ++it)
        if (std::find(headers.begin(), headers.end(), it.key()) == headers.end())
          headers.push_back(it.key());
    // JSON objects come with sorted keys; an "id" reads best first.
    if (auto id = std::find(headers.begin(), headers.end(), "id"); id != headers.end())
      std::rotate(headers.begin(), id, id + 1);
    std::vector<std::vector<std::string>> rows;
    for (const auto& row : v) {
      std::vector<std::string> cells;
      for (const auto& h : headers) cells.push_back(row.contains(h) ? scalar_text(row[h]) : "-");
      rows.push_back(std::move(cells));
    }
    print_table(out, headers, rows);
    out << "(" << v.size() << (v.size() == 1 ? " row)" : " rows)") << std::endl;
    return;
  }
  if (v.is_array() &&
      std::none_of(v.begin(), v.end(), [](const nlohmann::json& x) { return x.is_structured(); })) {
    for (const auto& x : v) out << scalar_text(x) << '\n';
    if (v.empty()) out << "(empty)\n";
    out.flush();
    return;
  }
  if (v.is_object() && !v.empty()) {
    size_t w = 0;
    for (auto it = v.begin(); it != v.end(); ++it) w = std::max(w, it.key().size());
    auto line = [&](const std::string& k, const nlohmann::json& x) {
      out << k << std::string(w - k.size() + 2, ' ')
          << (x.is_structured() ? x.dump() : scalar_text(x)) << '\n';
    };
    if (v.contains("id")) line("id", v["id"]);
    for (auto it = v.begin(); it != v.end(); ++it)
      if (it.key() != "id") line(it.key(), *it);
    out.flush();
    return;
  }
  out << (v.is_structured() ? v.dump(2) : scalar_text(v)) << std::endl;
}

}  // namespace rill::cli
