// rill keys gen NAME: a CURVE key pair for tcp:// endpoints.
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "daemons/rill/commands.h"
#include "transport/security.h"

namespace rill::cli {

namespace {

struct keys_flags {
  std::string name;
  bool force = false;
};

int run_keys_gen(global_options& g, const keys_flags& f) {
  if (f.name.empty()) return usage_error("keys gen", "NAME must not be empty");
  const std::string secret = f.name + ".key", pub = f.name + ".pub";
  std::error_code ec;
  if (!f.force)
    for (const auto& file : {secret, pub})
      // symlink_status: a dangling symlink is there too (exists() follows it).
      if (std::filesystem::exists(std::filesystem::symlink_status(file, ec)))
        return report("already_exists", file + " exists (use --force to replace it)", exit_refused);
  transport::key_pair kp;
  try {
    kp = transport::generate_key_pair();
    // save_key_file writes a new file with its final mode (0600 for the
    // secret) and renames it over NAME.key: an existing file, or a symlink
    // there, is replaced, never written through.
    transport::save_key_file(secret, kp, true);
    transport::save_key_file(pub, kp, false);
  } catch (const std::exception& e) {
    return report("keys_failed", e.what(), exit_refused);
  }
  if (g.json)
    std::cout << nlohmann::json{{"ok", true},
                                {"secret_file", secret},
                                {"public_file", pub},
                                {"public", kp.public_z85}}
                     .dump()
              << std::endl;
  else
    std::cout << "wrote " << secret << " (secret, mode 0600) and " << pub
              << "\npublic key: " << kp.public_z85 << std::endl;
  return exit_ok;
}

}  // namespace

void add_keys_command(CLI::App& app, global_options& g) {
  auto* sub = app.add_subcommand("keys", "CURVE keys for tcp:// endpoints");
  add_global_flags(*sub, g);
  sub->require_subcommand(1);
  auto f = std::make_shared<keys_flags>();
  auto* gen = sub->add_subcommand("gen", "Write NAME.key (secret, mode 0600) and NAME.pub");
  add_global_flags(*gen, g);
  gen->add_option("name", f->name, "File name stem (may include a directory)")->required();
  gen->add_flag("--force", f->force, "Replace existing files");
  gen->callback([&g, f] { g.exit = run_keys_gen(g, *f); });
}

}  // namespace rill::cli
