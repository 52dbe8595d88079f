#include "daemons/rill/cli_options.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <streambuf>

#include <nlohmann/json.hpp>

namespace rill::cli {

std::filesystem::path global_options::data_dir() const {
  std::error_code ec;
  auto p = std::filesystem::absolute(data.empty() ? std::string("./rill-data") : data, ec);
  if (ec) return std::filesystem::path(data).lexically_normal();
  p = p.lexically_normal();
  // "D/" normalises to "D/" with an empty file name; drop the trailing slash.
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  // --data checks this as it is parsed; $RILL_DATA (the default) only here.
  if (std::filesystem::exists(p, ec) && !std::filesystem::is_directory(p, ec)) {
    std::cerr << "rill: usage: the data directory " << p.string() << " (--data or $RILL_DATA)"
              << " is not a directory" << std::endl;
    std::exit(exit_usage);
  }
  return p;
}

void global_options::from_environment() {
  const char* env = std::getenv("RILL_DATA");
  if (env != nullptr && *env != '\0') data = env;
  if (const char* k = std::getenv("RILL_CURVE_KEY"); k != nullptr && *k != '\0') curve_key = k;
  if (const char* k = std::getenv("RILL_CURVE_SERVER"); k != nullptr && *k != '\0')
    curve_server = k;
}

namespace {
const global_options* g_options = nullptr;

// std::cout's buffer, counting what goes through it: a --json error is
// printed on stdout only when nothing else was (send and query print the
// daemon's refusal themselves).
class counting_buf : public std::streambuf {
 public:
  explicit counting_buf(std::streambuf* inner) : inner_(inner) {}
  uint64_t written() const { return written_; }

 protected:
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    ++written_;
    return inner_->sputc(traits_type::to_char_type(ch));
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    written_ += static_cast<uint64_t>(n);
    return inner_->sputn(s, n);
  }
  int sync() override { return inner_->pubsync(); }

 private:
  std::streambuf* inner_;
  uint64_t written_ = 0;
};

counting_buf* stdout_counter() {
  static counting_buf* buf = [] {
    auto* b = new counting_buf(std::cout.rdbuf());  // lives as long as the process
    std::cout.rdbuf(b);
    return b;
  }();
  return buf;
}

// With --json, an error is also a JSON object on stdout, unless the command
// already printed its answer there.
void json_error(std::string_view code, std::string_view message) {
  if (g_options == nullptr || !g_options->json || stdout_counter()->written() > 0) return;
  std::cout << nlohmann::json{{"ok", false}, {"error", code}, {"message", message}}.dump()
            << std::endl;
}
}  // namespace

const transport::client_security* client_security() {
  static std::optional<transport::client_security> sec;
  static bool loaded = false;
  if (loaded) return sec ? &*sec : nullptr;
  loaded = true;
  if (g_options == nullptr || (g_options->curve_key.empty() && g_options->curve_server.empty()))
    return nullptr;
  if (g_options->curve_key.empty() || g_options->curve_server.empty()) {
    report("bad_key", "tcp:// endpoints need both --curve-key and --curve-server", exit_usage);
    std::exit(exit_usage);
  }
  try {
    sec = transport::load_client_security(g_options->curve_key, g_options->curve_server);
  } catch (const std::exception& e) {
    report("bad_key", e.what(), exit_usage);
    std::exit(exit_usage);
  }
  return &*sec;
}

void add_global_flags(CLI::App& app, global_options& g) {
  // $RILL_DATA is read once, into the default (global_options::from_environment):
  // CLI11's envname would let it override a --data given before the subcommand.
  app.add_option("--data", g.data, "Data directory (default ./rill-data, or $RILL_DATA)")
      ->type_name("DIR")
      ->check(
          [](const std::string& d) -> std::string {
            if (d.empty()) return "must not be empty";
            std::error_code ec;
            if (std::filesystem::exists(d, ec) && !std::filesystem::is_directory(d, ec))
              return d + " is not a directory";
            return {};
          },
          "DIR");
  app.add_flag("--json", g.json, "Machine output: JSON on stdout");
  app.add_option("--curve-key", g.curve_key,
                 "Our CURVE key pair file for tcp:// endpoints (rill keys gen; or $RILL_CURVE_KEY)")
      ->type_name("FILE");
  app.add_option("--curve-server", g.curve_server,
                 "The servers' CURVE public key file for tcp:// endpoints (or $RILL_CURVE_SERVER)")
      ->type_name("FILE");
  g_options = &g;
  (void)stdout_counter();
}

int report(std::string_view code, std::string_view message, int exit) {
  json_error(code, message);
  std::cerr << "rill: " << code << ": " << message << std::endl;
  return exit;
}

void reject_negative_unsigned(CLI::App& app) {
  static const CLI::Validator non_negative(
      [](std::string& v) {
        if (!v.empty() && v[0] == '-') return std::string("must not be negative");
        // CLI11 clamps a decimal past 2^64-1 to it: --after 18446744073709551616
        // was taken as 18446744073709551615.
        const bool decimal = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
        uint64_t parsed = 0;
        if (decimal && std::from_chars(v.data(), v.data() + v.size(), parsed).ec ==
                           std::errc::result_out_of_range)
          return std::string("out of range (at most 18446744073709551615)");
        return std::string();
      },
      "", "non-negative");
  for (CLI::Option* o : app.get_options())
    if (o->get_type_name() == "UINT") o->check(non_negative);
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    reject_negative_unsigned(*sub);
}

int usage_error(std::string_view sub, std::string_view message) {
  json_error("usage", std::string(sub) + ": " + std::string(message));
  std::cerr << "rill: usage: " << sub << ": " << message << "\nRun 'rill " << sub
            << " --help' for usage." << std::endl;
  return exit_usage;
}

std::string data_dir_denied(const std::filesystem::path& data, std::string_view sub) {
  // Entering D, then listing and entering D/<sub>: all a client needs (the
  // journal is only read; connecting to a socket needs no write access to
  // its directory).
  for (const auto& [p, mode] : {std::pair{data, X_OK}, std::pair{data / sub, R_OK | X_OK}}) {
    if (::access(p.c_str(), mode) == 0 || errno != EACCES) continue;
    // A file where the directory belongs is not a permission problem (its
    // missing x bit made access() say EACCES, even for its owner).
    if (std::error_code ec; std::filesystem::exists(p, ec) && !std::filesystem::is_directory(p, ec))
      continue;
    std::string why = "cannot access " + p.string() + ": permission denied";
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
      why += " (owner uid " + std::to_string(st.st_uid) + ", mode " + mode + ")";
    }
    return why + "; the data directory is private to the user rill runs as: run this as that user";
  }
  return {};
}

int not_running(const global_options& g, std::string_view detail) {
  if (auto why = data_dir_denied(g.data_dir(), "run"); !why.empty())
    return report("forbidden", why, exit_refused);
  std::string text = "rill is not running for " + g.data_dir().string();
  std::string why(detail);
  if (std::error_code ec; std::filesystem::exists(g.data_dir() / "run", ec) &&
                          !std::filesystem::is_directory(g.data_dir() / "run", ec))
    why = "its run directory " + (g.data_dir() / "run").string() + " is a file";
  if (!why.empty()) text += " (" + why + ")";
  json_error("not_running", text);
  std::cerr << "rill: not_running: " << text << std::endl;
  return exit_unreachable;
}

}  // namespace rill::cli
