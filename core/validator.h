#pragma once
// validator: decides whether a command may become an event. Pure: no I/O, no
// clock. It owns the aggregate index (aggregate type + id -> current version)
// and the idempotency keys (key -> the seq/ver of the event the key produced).
//
// Check order (PROTOCOL.md): key seen (committed or staged) -> dup verdict with
// the first seq/ver; unknown_aggregate; unknown_command; data vs schema
// (bad_request); creates && exists -> already_exists; !creates && !exists ->
// not_found; a reference field naming a missing aggregate -> not_found;
// expect (0 = must not exist, n = must be at n) -> version_conflict with
// verdict.ver = current version (0 if absent).
//
// A successful check STAGES its change (version + 1, 1 for a create; key ->
// {seq, ver}) so later commands of the same batch see it. The caller then
// either commit()s once the events are appended, or rollback_to() a
// savepoint (atomic batch abort, failed append).
//
// Ownership: borrows the schema, which must outlive the validator; copies
// every string it keeps. Thread-safety: not thread-safe; one owner thread.
// Durability: none; state is rebuilt with apply() from the journal, or
// loaded from a checkpoint written by serialize().
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/buffer.h"
#include "core/error.h"
#include "core/incremental_map.h"
#include "core/request.h"
#include "core/schema.h"
#include "core/string_hash.h"
#include "core/string_pool.h"

namespace rill {

struct validator_options {
  // Idempotency keys retained; past this the oldest are forgotten first (a
  // forgotten key's retry becomes a new command). Costs about 90 bytes per
  // key of up to 15 bytes, plus the key's length above that.
  size_t max_keys = 4'000'000;
};

struct verdict {
  errc code = errc::ok;
  uint64_t seq = 0;    // ok: the event's seq (dup: the first one's)
  uint64_t ver = 0;    // ok: the new version (dup: the first one's);
                       // version_conflict: the current version
  bool dup = false;
  const command_def* def = nullptr;  // the command, once it was found
  std::string message;               // set on errors
};

class validator {
 public:
  explicit validator(const schema& s, validator_options o = {});
  validator(const validator&) = delete;  // the key map holds views into key_fifo_
  validator& operator=(const validator&) = delete;
  validator(validator&&) = default;

  // Validates c as the event at `seq` and stages it on success (see above).
  // Borrows nothing from c after it returns. Never throws (except bad_alloc).
  verdict check(const command_request& c, uint64_t seq);

  // Hints that c will be checked soon: starts loading the memory its
  // lookups will touch (the aggregate's and the key's hash-map slots), so a
  // batch can overlap those cache misses. No effect on results.
  void prefetch(const command_request& c) const;

  // Position in the undo log of staged changes.
  size_t savepoint() const { return undo_.size(); }
  // Undoes every change staged after sp, newest first.
  void rollback_to(size_t sp);
  // Makes every staged change permanent and enforces max_keys.
  void commit();

  // Rebuild from a journaled event: sets the aggregate's version to ver and
  // records key -> {seq, ver} if key is not empty. An aggregate type the
  // schema does not have (the journal was written under another schema) is
  // kept aside all the same, so that a checkpoint written now still holds
  // it for a later start under that schema; false then. Must not be called
  // with staged changes.
  bool apply(std::string_view agg, std::string_view id, uint64_t ver, std::string_view key,
             uint64_t seq);

  // Current version, staged changes included; 0 if absent.
  uint64_t version(std::string_view agg, std::string_view id) const;
  size_t aggregate_count() const;  // of the schema's types
  // Aggregates of types the schema does not have (kept for checkpoints).
  size_t foreign_aggregate_count() const;
  size_t key_count() const { return keys_.size(); }
  // Bytes held for ids longer than 15 bytes (shorter ones sit in the index).
  size_t long_id_bytes() const { return ids_.allocated(); }

  // Checkpoint of the index and keys (format: core/index_checkpoint.h),
  // valid for the journal up to and including `seq`. Call with no staged
  // changes. Appends to out.
  void serialize(out_buffer& out, uint64_t seq) const;
  // Replaces the state with a checkpoint's. Checks magic, version and
  // checksum and every length; false (state untouched) on any mismatch.
  // Aggregate types the schema does not have are kept aside, as apply()
  // keeps them. On success sets seq to the seq the checkpoint is valid for.
  bool load(std::span<const char> body, uint64_t& seq);

 private:
  struct key_entry {
    uint64_t seq = 0, ver = 0;
  };
  struct undo_entry {
    enum class what : uint8_t { created, bumped, key } w;
    uint16_t agg = 0;
    uint32_t id_len = 0;
    size_t id_off = 0;              // into undo_ids_
    size_t hash = 0;                // of the id
    uint64_t prev_ver = 0;          // bumped
    string_pool::position id_mark;  // created: ids_ before the id was added
  };
  // Both maps keep each key's hash (core/string_hash.h: hashed_key), so
  // growing them never re-reads the ids and keys, and both grow a few
  // entries per insert instead of all at once (core/incremental_map.h). An id
  // of up to 15 bytes sits in the index's slot, a longer one in ids_: a slot
  // is 32 bytes and no id takes a heap block of its own.
  using version_map =
      incremental_map<hashed_key<short_or_pooled>, uint64_t, hashed_key_hash, hashed_key_eq>;
  using key_map = incremental_map<hashed_view, key_entry, hashed_key_hash, hashed_key_eq>;
  // Entries of a growth in progress moved per commit(), so a workload with
  // no inserts still finishes it.
  static constexpr size_t kGrowStepPerCommit = 64;

  const uint64_t* find_version(uint16_t agg, std::string_view id) const;
  void add_key(hashed_view key, uint64_t seq, uint64_t ver);  // key must be absent
  void evict_keys();
  bool check_refs(const command_def& def, const msgpack::object* data, verdict& v) const;

  const schema& schema_;
  validator_options opts_;
  string_pool ids_;                    // the bytes of the long ids in index_
  std::vector<version_map> index_;     // per aggregate type (schema index)
  // Types found in the journal or a checkpoint but not in the schema: never
  // checked against, only carried from the journal into checkpoints.
  std::map<std::string, version_map, std::less<>> foreign_;
  std::deque<std::string> key_fifo_;   // owns the key strings, oldest first
  key_map keys_;                       // views into key_fifo_
  std::vector<undo_entry> undo_;
  std::string undo_ids_;               // ids of staged aggregate changes
};

}  // namespace rill
