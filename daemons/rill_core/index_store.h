#pragma once
// The aggregate index's checkpoint file, D/index/checkpoint.idx, and the
// start-up path that rebuilds the validator from it plus the journal tail.
//
// A checkpoint is written to a partial file, flushed, renamed, and the
// directory flushed (STYLE rule 8). While the daemon runs it is written by a
// forked child process (copy-on-write, like Redis' background save), so the
// command thread never stalls on it; at a clean exit it is written in place.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>

#include "core/schema.h"
#include "core/validator.h"

namespace rill::daemon {

struct index_load_report {
  uint64_t checkpoint_seq = 0;  // 0 = no usable checkpoint
  uint64_t replayed = 0;        // journal events applied on top of it
  double seconds = 0;
};

// Builds the validator for a journal whose head is `head`: newest valid
// checkpoint with seq <= head, then every later journal event. Logs what it did.
std::unique_ptr<validator> load_index(const schema& s, validator_options vo,
                                      const std::filesystem::path& data, uint64_t head,
                                      index_load_report& report);

// Writes the checkpoint synchronously. Returns false (and logs) on I/O error.
bool write_checkpoint(const validator& v, uint64_t seq, const std::filesystem::path& data);

// Runs write_checkpoint in a forked child. Not thread-safe; one owner.
class background_checkpointer {
 public:
  // `last_seq`: the seq of the checkpoint loaded at start (0 = none), so
  // that a start on a checkpointed journal does not write it again.
  background_checkpointer(std::filesystem::path data, uint64_t last_seq)
      : data_(std::move(data)), last_seq_(last_seq) {}
  ~background_checkpointer() { wait(); }
  // Starts a checkpoint if none is running; false if one still is.
  bool start(const validator& v, uint64_t seq);
  // Reaps a finished child (non-blocking); true while one is running.
  bool running();
  void wait();
  uint64_t last_seq() const { return last_seq_; }

 private:
  std::filesystem::path data_;
  pid_t child_ = -1;
  uint64_t last_seq_ = 0;
};

}  // namespace rill::daemon
