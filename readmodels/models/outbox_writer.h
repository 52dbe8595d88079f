#pragma once
// Writing email files into the outbox exactly once (saga.h: "an existing
// final file means already done").
//
// write_once(dir, name, content):
//   1. if dir/name exists: `existed` (never rewritten);
//   2. write dir/.name.<pid>.tmp (mode 0600), fsync it;
//   3. link() it to dir/name - which fails if the name appeared meanwhile (a
//      second copy of the saga), so even then nothing is overwritten;
//   4. unlink the temp name, fsync the directory.
// With sync = false steps 2 and 4 skip the fsyncs (tests, tmpfs).
// Durable when it returns `written` with sync = true.
//
// prepare_dir(dir) creates dir (mode 0700: it holds personal data) and its
// missing parents, and removes stray temp files left by dead processes.
// No exceptions: failures return `error` / false with a message.
// Thread-safety: functions of the file system; safe to call from any thread.
#include <string>
#include <string_view>

namespace rill::readmodels {

enum class write_result { written, existed, error };

write_result write_once(const std::string& dir, const std::string& name, std::string_view content,
                        bool sync, std::string& error);

bool prepare_dir(const std::string& dir, bool sync, std::string& error);

}  // namespace rill::readmodels
