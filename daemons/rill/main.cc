// rill: the command line interface and supervisor (docs/cli.md).
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "daemons/rill/cli_options.h"
#include "daemons/rill/commands.h"
#include "daemons/rill/send_args.h"
#include "transport/endpoints.h"
#include "transport/security.h"

namespace {

std::string command_names(const CLI::App& app) {
  std::string out = "commands:";
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    out += " " + sub->get_name();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rill::cli;
  global_options g;
  g.from_environment();
  CLI::App app{"rill: a single-host CQRS / event-sourcing engine (docs/cli.md)", "rill"};
  app.require_subcommand(1);
  app.footer("Exit codes: 0 ok, 1 refused or failed check, 2 usage error, 3 rill not running.");
  add_global_flags(app, g);
  add_up_command(app, g);
  add_down_command(app, g);
  add_status_command(app, g);
  add_send_command(app, g);
  add_query_command(app, g);
  add_watch_command(app, g);
  add_tail_command(app, g);
  add_journal_command(app, g);
  add_rebuild_command(app, g);
  add_demo_command(app, g);
  add_keys_command(app, g);
  add_load_command(app, g);
  reject_negative_unsigned(app);
  // `send --json '{...}'` carries a request; a bare --json asks for JSON output.
  std::vector<std::string> args = rewrite_send_args(std::vector<std::string>(argv, argv + argc));
  std::vector<char*> args_c;
  for (auto& a : args) args_c.push_back(a.data());
  try {
    app.parse(static_cast<int>(args_c.size()), args_c.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Like every other error: "rill: usage: <subcommand>: <what>", then
    // where to look. The subcommand is the deepest one parsed so far.
    std::string path;
    const CLI::App* deepest = &app;
    size_t at = 0;  // where the deepest subcommand's name is in args
    while (!deepest->get_subcommands().empty()) {
      deepest = deepest->get_subcommands().front();
      path += (path.empty() ? "" : " ") + deepest->get_name();
      while (at + 1 < args.size() && args[++at] != deepest->get_name()) {
      }
    }
    std::string what = e.what();
    if (path.empty() && args.size() > 1 && !args[1].empty() && args[1][0] != '-')
      what = "unknown command '" + args[1] + "' (" + command_names(app) + ")";
    // `rill journal bogus`: CLI11 says "A subcommand is required".
    const bool has_subcommands =
        !deepest->get_subcommands([](const CLI::App*) { return true; }).empty();
    if (!path.empty() && has_subcommands && dynamic_cast<const CLI::RequiredError*>(&e)) {
      const bool named = at + 1 < args.size() && !args[at + 1].empty() && args[at + 1][0] != '-';
      what = (named ? "unknown subcommand '" + args[at + 1] + "'" : "a subcommand is required") +
             " (" + command_names(*deepest) + ")";
    }
    // --json asked for JSON on stdout; the parser may have stopped before it.
    const bool json = g.json || std::find(args.begin() + 1, args.end(), "--json") != args.end();
    if (json)
      std::cout << nlohmann::json{{"ok", false},
                                  {"error", "usage"},
                                  {"message", (path.empty() ? "" : path + ": ") + what}}
                       .dump()
                << std::endl;
    std::cerr << "rill: usage: " << (path.empty() ? "" : path + ": ") << what << "\nRun 'rill "
              << (path.empty() ? "" : path + " ") << "--help' for usage." << std::endl;
    return exit_usage;
  } catch (const rill::transport::endpoints_error& e) {
    return report("bad_endpoints", e.what(), exit_refused);
  } catch (const rill::transport::security_error& e) {
    // A tcp:// endpoint and no keys (or unusable ones): nothing was sent.
    return report("bad_key", e.what(), exit_usage);
  } catch (const std::exception& e) {
    return report("internal", e.what(), exit_refused);
  }
  return g.exit;
}
