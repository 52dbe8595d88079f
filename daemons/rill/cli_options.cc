#include "daemons/rill/cli_options.h"

#include <cstdlib>
#include <iostream>

namespace rill::cli {

std::filesystem::path global_options::data_dir() const {
  std::error_code ec;
  auto p = std::filesystem::absolute(data.empty() ? std::string("./rill-data") : data, ec);
  if (ec) return std::filesystem::path(data).lexically_normal();
  p = p.lexically_normal();
  // "D/" normalises to "D/" with an empty file name; drop the trailing slash.
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  return p;
}

void global_options::from_environment() {
  const char* env = std::getenv("RILL_DATA");
  if (env != nullptr && *env != '\0') data = env;
}

void add_global_flags(CLI::App& app, global_options& g) {
  // $RILL_DATA is read once, into the default (global_options::from_environment):
  // CLI11's envname would let it override a --data given before the subcommand.
  app.add_option("--data", g.data, "Data directory (default ./rill-data, or $RILL_DATA)")
      ->type_name("DIR");
  app.add_flag("--json", g.json, "Machine output: JSON on stdout");
}

int report(std::string_view code, std::string_view message, int exit) {
  std::cerr << "rill: " << code << ": " << message << std::endl;
  return exit;
}

int usage_error(std::string_view sub, std::string_view message) {
  std::cerr << "rill " << sub << ": " << message << "\nRun 'rill " << sub << " --help' for usage."
            << std::endl;
  return exit_usage;
}

int not_running(const global_options& g, std::string_view detail) {
  std::cerr << "rill: not_running: rill is not running for " << g.data_dir().string();
  if (!detail.empty()) std::cerr << " (" << detail << ")";
  std::cerr << std::endl;
  return exit_unreachable;
}

}  // namespace rill::cli
