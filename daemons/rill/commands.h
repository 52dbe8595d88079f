#pragma once
// The subcommands of `rill`, one registration function per group. Each adds
// its subcommand(s) to the app; the subcommand's callback runs it and stores
// its exit code in g.exit. docs/cli.md describes every one.
#include <CLI/CLI.hpp>

#include "daemons/rill/cli_options.h"

namespace rill::cli {

void add_up_command(CLI::App& app, global_options& g);       // up
void add_down_command(CLI::App& app, global_options& g);     // down
void add_status_command(CLI::App& app, global_options& g);   // status
void add_send_command(CLI::App& app, global_options& g);     // send
void add_query_command(CLI::App& app, global_options& g);    // query
void add_watch_command(CLI::App& app, global_options& g);    // watch
void add_tail_command(CLI::App& app, global_options& g);     // tail
void add_journal_command(CLI::App& app, global_options& g);  // journal verify|dump|truncate
void add_rebuild_command(CLI::App& app, global_options& g);  // rebuild
void add_demo_command(CLI::App& app, global_options& g);     // demo
void add_keys_command(CLI::App& app, global_options& g);     // keys gen
void add_load_command(CLI::App& app, global_options& g);     // load (cmd_load.cc)

}  // namespace rill::cli
