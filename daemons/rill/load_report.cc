#include "daemons/rill/load_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include "daemons/rill/output.h"

namespace rill::cli {

namespace {

double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string us_text(uint64_t ns) {
  const double v = us(ns);
  return v >= 1000 ? fixed(v / 1000, 2) + " ms" : fixed(v, v < 10 ? 2 : 1) + " us";
}

// A --rate as given: 20000, 0.5, 0.001.
std::string rate_text(double rate) {
  char buf[32];
  std::snprintf(buf, sizeof buf, rate >= 1 ? "%.0f" : "%g", rate);
  return buf;
}

void latency_row(std::vector<std::vector<std::string>>& rows, const std::string& what,
                 const latency_histogram& h) {
  if (h.count() == 0) {
    rows.push_back({what, "0", "-", "-", "-", "-", "-"});
    return;
  }
  rows.push_back({what, std::to_string(h.count()), us_text(h.quantile(0.5)),
                  us_text(h.quantile(0.9)), us_text(h.quantile(0.99)),
                  us_text(h.quantile(0.999)), us_text(h.max())});
}

}  // namespace

nlohmann::json latency_json(const latency_histogram& h) {
  auto r = [](double v) { return std::round(v * 100) / 100; };
  return {{"count", h.count()},
          {"min", r(us(h.min()))},
          {"mean", r(h.mean() / 1000)},
          {"p50", r(us(h.quantile(0.5)))},
          {"p90", r(us(h.quantile(0.9)))},
          {"p99", r(us(h.quantile(0.99)))},
          {"p999", r(us(h.quantile(0.999)))},
          {"max", r(us(h.max()))}};
}

nlohmann::json report_json(const load_report& r) {
  const auto& c = r.config;
  nlohmann::json j;
  j["mode"] = c.open_loop() ? "open" : "closed";
  j["connections"] = c.connections;
  j["window"] = c.window;
  j["rate"] = c.rate;
  j["batch"] = c.batch;
  j["atomic"] = c.atomic;
  j["payload"] = c.payload;
  j["spin_us"] = c.spin_us;
  j["mix"] = {{"create", c.mix.create}, {"update", c.mix.update}, {"order", c.mix.order}};
  j["run_tag"] = r.run_tag;
  j["elapsed_s"] = std::round(r.elapsed_s * 1000) / 1000;
  j["requests"] = r.requests;
  j["replies"] = r.replies;
  j["commands"] = r.ok + r.failed;
  j["ok"] = r.ok;
  j["failed"] = r.failed;
  j["lost"] = r.lost;
  j["late"] = r.late;
  j["malformed"] = r.malformed;
  if (c.open_loop()) {
    j["window_waits"] = r.window_waits;
    j["unsent"] = r.unsent;
  }
  j["interrupted"] = r.interrupted;
  j["errors"] = nlohmann::json::object();
  for (const auto& [code, n] : r.errors) j["errors"][code] = n;
  j["throughput"] = std::round(r.throughput());
  j["latency_us"] = latency_json(r.latency);
  if (c.open_loop()) j["send_lag_us"] = latency_json(r.send_lag);
  if (r.visible) {
    j["visible_us"] = latency_json(*r.visible);
    j["visible_us"]["expected"] = r.visible_expected;
  }
  if (r.visible_journal) {
    j["visible_journal_us"] = latency_json(*r.visible_journal);
    j["visible_journal_us"]["expected"] = r.visible_expected;
  }
  if (r.after) {
    j["after_us"] = latency_json(*r.after);
    j["after_us"]["model"] = c.after_model;
    j["after_us"]["timeouts"] = r.after_timeouts;
    j["after_us"]["commands"] = r.after_commands;
  }
  if (r.notified) {
    j["notified_us"] = latency_json(*r.notified);
    j["notified_us"]["model"] = c.notified;
    j["notified_us"]["expected"] = r.notified_expected;
    j["notified_us"]["missing"] = r.notified_missing;
    j["notified_us"]["notes"] = r.notified_notes;
    j["notified_us"]["resyncs"] = r.notified_resyncs;
  }
  j["per_second"] = r.per_second;
  if (!c.plot.empty()) j["plot"] = c.plot;
  if (!r.fatal.empty()) j["fatal"] = r.fatal;
  return j;
}

void print_report(std::ostream& out, const load_report& r) {
  const auto& c = r.config;
  out << (c.open_loop() ? "open loop at " + rate_text(c.rate) + " cmd/s"
                        : std::string("closed loop"))
      << ", " << c.connections << " connection(s), window " << c.window << ", batch " << c.batch
      << (c.atomic ? " (atomic)" : "") << "\n";
  out << "commands  " << (r.ok + r.failed) << " in " << fixed(r.elapsed_s, 2)
      << " s  =  " << fixed(r.throughput(), 0) << " cmd/s   ok " << r.ok << "  failed " << r.failed
      << "  lost " << r.lost << (r.late ? "  late " + std::to_string(r.late) : std::string())
      << "\n";
  if (r.interrupted) out << "interrupted: stopped before the end of the run\n";
  for (const auto& [code, n] : r.errors) out << "  error " << code << ": " << n << "\n";
  std::vector<std::vector<std::string>> rows;
  latency_row(rows, c.batch > 1 ? "ack (per batch)" : "ack", r.latency);
  if (r.visible) latency_row(rows, "visible on feed", *r.visible);
  if (r.visible_journal) latency_row(rows, "visible in journal", *r.visible_journal);
  if (r.after) latency_row(rows, "applied by " + c.after_model, *r.after);
  if (r.notified) latency_row(rows, "notified by " + c.notified, *r.notified);
  if (c.open_loop()) latency_row(rows, "send lag (generator)", r.send_lag);
  print_table(out, {"latency", "samples", "p50", "p90", "p99", "p99.9", "max"}, rows);
  if (r.visible && r.visible->count() < r.visible_expected)
    out << "note: the feed delivered " << r.visible->count() << " of " << r.visible_expected
        << " events (PUB/SUB drops under load)\n";
  if (r.notified && (r.notified_missing > 0 || r.notified_resyncs > 0))
    out << "note: " << r.notified_missing << " of " << r.notified_expected
        << " requests never covered by a note from " << c.notified << ", " << r.notified_resyncs
        << " resync note(s) (notes may have been missed)\n";
  if (c.open_loop() && (r.window_waits > 0 || r.unsent > 0))
    out << "note: " << r.window_waits << " send(s) found the window full when due (their send lag "
        << "is the server's back-pressure, not the generator's), " << r.unsent
        << " due before the end never went out\n";
}

// ------------------------------------------------------------------- plot

std::string plot_svg(const load_report& r) {
  const double W = 900, H = 640, L = 80, R = 30;
  const double top1 = 50, h1 = 330, top2 = 450, h2 = 140;
  const double pw = W - L - R;
  std::ostringstream s;
  s << std::fixed << std::setprecision(1);
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << " " << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"" << L << "\" y=\"24\" font-size=\"15\">rill load: latency by percentile ("
    << (r.config.open_loop() ? "open loop, " + rate_text(r.config.rate) + " cmd/s"
                             : "closed loop, window " + std::to_string(r.config.window))
    << ", " << r.config.connections << " conn, batch " << r.config.batch << ", "
    << fixed(r.throughput(), 0) << " cmd/s)</text>\n";

  // Percentile panel: x = log10(1 / (1 - p)), from p = 0 to p = 1 - 1/count.
  struct curve { const latency_histogram* h; const char* color; std::string name; };
  std::vector<curve> curves{{&r.latency, "#1f77b4", "ack"}};
  if (r.visible && r.visible->count()) curves.push_back({&*r.visible, "#d62728", "visible on feed"});
  if (r.visible_journal && r.visible_journal->count())
    curves.push_back({&*r.visible_journal, "#ff7f0e", "visible in journal"});
  if (r.after && r.after->count()) curves.push_back({&*r.after, "#2ca02c", "applied by " + r.config.after_model});
  if (r.notified && r.notified->count())
    curves.push_back({&*r.notified, "#9467bd", "notified by " + r.config.notified});
  uint64_t n = 1, ymax_ns = 1;
  for (auto& c : curves) n = std::max(n, c.h->count()), ymax_ns = std::max(ymax_ns, c.h->max());
  const double xmax = std::max(1.0, std::min(6.0, std::ceil(std::log10(static_cast<double>(n)))));
  const double ymax = us(ymax_ns) * 1.05;
  auto X = [&](double x) { return L + pw * x / xmax; };
  auto Y = [&](double v) { return top1 + h1 - h1 * v / ymax; };
  s << "<rect x=\"" << L << "\" y=\"" << top1 << "\" width=\"" << pw << "\" height=\"" << h1
    << "\" fill=\"none\" stroke=\"#888\"/>\n";
  const char* labels[] = {"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"};
  for (int k = 0; k <= static_cast<int>(xmax); ++k) {
    s << "<line x1=\"" << X(k) << "\" y1=\"" << top1 << "\" x2=\"" << X(k) << "\" y2=\""
      << top1 + h1 << "\" stroke=\"#ddd\"/>\n";
    s << "<text x=\"" << X(k) << "\" y=\"" << top1 + h1 + 16 << "\" text-anchor=\"middle\">"
      << labels[k] << "</text>\n";
  }
  for (int k = 0; k <= 4; ++k) {
    const double v = ymax * k / 4;
    s << "<line x1=\"" << L << "\" y1=\"" << Y(v) << "\" x2=\"" << L + pw << "\" y2=\"" << Y(v)
      << "\" stroke=\"#eee\"/>\n";
    s << "<text x=\"" << L - 6 << "\" y=\"" << Y(v) + 4 << "\" text-anchor=\"end\">"
      << fixed(v, v < 10 ? 1 : 0) << "</text>\n";
  }
  s << "<text x=\"20\" y=\"" << top1 + h1 / 2 << "\" transform=\"rotate(-90 20 " << top1 + h1 / 2
    << ")\" text-anchor=\"middle\">latency (us)</text>\n";
  s << "<text x=\"" << L + pw / 2 << "\" y=\"" << top1 + h1 + 34
    << "\" text-anchor=\"middle\">percentile</text>\n";
  if (r.latency.count() == 0)
    s << "<text x=\"" << L + pw / 2 << "\" y=\"" << top1 + h1 / 2 << "\" text-anchor=\"middle\">"
      << "no replies: nothing to plot</text>\n";
  int li = 0;
  for (auto& c : curves) {
    s << "<polyline fill=\"none\" stroke=\"" << c.color << "\" stroke-width=\"2\" points=\"";
    for (double x = 0; x <= xmax + 1e-9; x += 0.02) {
      const double p = 1 - std::pow(10.0, -x);
      s << X(x) << "," << Y(us(c.h->quantile(p))) << " ";
    }
    s << "\"/>\n";
    s << "<text x=\"" << L + 10 << "\" y=\"" << top1 + 18 + 16 * li << "\" fill=\"" << c.color
      << "\">" << c.name << ": p50 " << us_text(c.h->quantile(0.5)) << ", p99 "
      << us_text(c.h->quantile(0.99)) << ", p99.9 " << us_text(c.h->quantile(0.999))
      << ", max " << us_text(c.h->max()) << "</text>\n";
    ++li;
  }

  // Throughput panel: commands acknowledged in each second.
  s << "<text x=\"" << L << "\" y=\"" << top2 - 12 << "\" font-size=\"13\">commands acknowledged per second</text>\n";
  s << "<rect x=\"" << L << "\" y=\"" << top2 << "\" width=\"" << pw << "\" height=\"" << h2
    << "\" fill=\"none\" stroke=\"#888\"/>\n";
  double tmax = 1;
  for (double v : r.per_second) tmax = std::max(tmax, v);
  tmax *= 1.1;
  const size_t secs = std::max<size_t>(1, r.per_second.size());
  const double bw = pw / static_cast<double>(secs);
  for (size_t i = 0; i < r.per_second.size(); ++i) {
    const double bh = h2 * r.per_second[i] / tmax;
    s << "<rect x=\"" << L + bw * static_cast<double>(i) + 1 << "\" y=\"" << top2 + h2 - bh
      << "\" width=\"" << std::max(1.0, bw - 2) << "\" height=\"" << bh << "\" fill=\"#1f77b4\"/>\n";
  }
  s << "<text x=\"" << L - 6 << "\" y=\"" << top2 + 4 << "\" text-anchor=\"end\">" << fixed(tmax, 0)
    << "</text>\n";
  s << "<text x=\"" << L - 6 << "\" y=\"" << top2 + h2 + 4 << "\" text-anchor=\"end\">0</text>\n";
  if (r.per_second.empty()) {
    s << "<text x=\"" << L + pw / 2 << "\" y=\"" << top2 + h2 / 2 << "\" text-anchor=\"middle\">"
      << "the run was too short for per-second figures</text>\n";
  } else {
    s << "<text x=\"" << L + pw / 2 << "\" y=\"" << top2 + h2 + 18
      << "\" text-anchor=\"middle\">seconds (1.." << r.per_second.size() << ")</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

bool write_plot(const std::string& file, const load_report& r, std::string& error) {
  const std::string svg = plot_svg(r);
  FILE* f = std::fopen(file.c_str(), "wb");
  if (f == nullptr) {
    error = "cannot write " + file;
    return false;
  }
  const bool ok = std::fwrite(svg.data(), 1, svg.size(), f) == svg.size();
  if (std::fclose(f) != 0 || !ok) {
    error = "cannot write " + file;
    return false;
  }
  return true;
}

}  // namespace rill::cli
