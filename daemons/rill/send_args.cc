#include "daemons/rill/send_args.h"

namespace rill::cli {

namespace {

bool looks_like_json_request(const std::string& s) {
  size_t i = s.find_first_not_of(" \t\r\n");
  if (i == std::string::npos) return false;
  return s[i] == '{' || s[i] == '[' || s == "-";
}

}  // namespace

std::vector<std::string> rewrite_send_args(std::vector<std::string> args) {
  size_t i = 1;
  // The subcommand is the first token that is neither an option nor the
  // value of --data.
  for (; i < args.size(); ++i) {
    if (args[i] == "--data") {
      ++i;
      continue;
    }
    if (!args[i].empty() && args[i][0] == '-') continue;
    break;
  }
  if (i >= args.size() || args[i] != "send") return args;
  for (size_t k = i + 1; k < args.size(); ++k) {
    if (args[k] == "--") break;
    if (args[k] == "--json" && k + 1 < args.size() && looks_like_json_request(args[k + 1])) {
      args[k] = "--request";
      ++k;
    } else if (args[k].rfind("--json=", 0) == 0) {
      args[k] = "--request=" + args[k].substr(7);
    }
  }
  return args;
}

}  // namespace rill::cli
