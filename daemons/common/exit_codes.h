#pragma once
// The exit statuses every rill daemon uses, so that the supervisor (`rill
// up`) can tell a fault that a restart may cure from one it cannot:
//
//   0  clean stop (SIGTERM / SIGINT, or --help)
//   1  a runtime fault: the journal refused, a socket could not be bound, a
//      pid file is held, ... (restarted with backoff)
//   2  the configuration was refused: a bad flag, config file, schema or
//      model setting. The same command line fails the same way every time,
//      so the supervisor does not restart the daemon (state "failed").
//   3  the data needs an operator: rill-core found the journal corrupt
//      before its tail (`rill journal verify` shows where, `rill journal
//      truncate` cuts it), or a file stands where D, D/run or D/journal
//      belongs. A restart finds the same bytes: not restarted either.

namespace rill::daemon {

inline constexpr int exit_ok = 0;
inline constexpr int exit_fault = 1;
inline constexpr int exit_config = 2;
inline constexpr int exit_data = 3;

// True for the statuses a restart cannot cure (2 and 3).
inline constexpr bool restart_cannot_cure(int status) {
  return status == exit_config || status == exit_data;
}

}  // namespace rill::daemon
