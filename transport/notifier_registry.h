#pragma once
// notifier_registry: the notifier's memory of client interest, without
// sockets. Clients (one per address: the connection identity, plus the proxy hops
// of a client behind a ROUTER-DEALER proxy) watch a whole model or one
// key of it; change reports turn into notes queued per client; flush() hands
// the queued notes to a note_sink (the ROUTER socket in rill-notify).
//
//   watchers index:  model -> { whole-model watchers, key -> key watchers }
//   report(M, [k])   -> note (M,k) for M's whole watchers and k's watchers
//   report(M, [])    -> note (M,nil) for every client watching anything in M
//
// Queues and coalescing: between two flushes, all notes for the same model+key
// are one note record holding the newest seq; a client holds each record at
// most once (a client watching both M and M/k gets one note per change). A
// client's queue holds at most `client_queue` notes; when it is full, its
// notes are folded into one whole-model note per model (key nil), which then
// also absorbs that model's later notes until the flush.
//
// A client whose pipe is full (it reads slowly, or not for a while) is not
// forgotten: what the sink refused is folded into whole-model notes it is
// owed, one per model (newest seq), which absorb every later note for it.
// Each flush tries the owed notes again first (stalled_clients() says a
// flush is worth it without a new report); once they go through, per-key
// notes resume. So a client that pauses loses no change: it reads the notes
// already in its pipe, then one whole-model note per model that changed
// meanwhile (re-read the model), then the changes after. A stalled client
// costs one entry per model. A client the sink cannot reach (disconnected)
// is forgotten, as is one silent past the expiry. Nothing ever waits for a
// client.
//
// Liveness: each client has a last-seen time; expire(now) forgets clients
// silent for longer than `expiry` (an intrusive LRU list: O(1) per touch,
// O(forgotten) per expire). Time is passed in, so tests use a fake clock.
//
// Cost: report() is O(keys + notes queued); flush() O(notes sent); watch and
// unwatch O(1) expected. Memory is bounded by max_clients,
// max_watches_per_client and client_queue.
//
// Ownership: owns all its state; string_view arguments are copied when kept.
// Thread-safety: not thread-safe; one owner thread (the notifier's loop).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

namespace rill::transport {

// Transparent hashing of std::string keys by std::string_view (Debian's
// Abseil hashes absl::string_view, which is not std::string_view there).
struct sv_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
struct sv_eq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};
template <class V>
using string_map = absl::flat_hash_map<std::string, V, sv_hash, sv_eq>;
using string_set = absl::flat_hash_set<std::string, sv_hash, sv_eq>;

struct registry_limits {
  // A client silent for longer than this is forgotten (PROTOCOL.md: 30 s).
  std::chrono::milliseconds expiry{30'000};
  // Notes waiting for one client between flushes; beyond it they are folded
  // per model. Larger absorbs bigger bursts per key, costs memory per client.
  size_t client_queue = 1'000;
  // Registered clients; a watch from one more is refused (overloaded).
  size_t max_clients = 100'000;
  // Watches one client may hold; one more is refused (overloaded).
  size_t max_watches_per_client = 10'000;
};

struct registry_stats {
  uint64_t reports = 0;          // change reports applied
  uint64_t notes_queued = 0;     // notes put in a client queue
  uint64_t notes_coalesced = 0;  // notes merged into one already queued
  uint64_t notes_folded = 0;     // notes folded into a whole-model note (queue full)
  uint64_t notes_sent = 0;       // notes the sink accepted
  uint64_t notes_dropped = 0;    // queued notes lost with a forgotten client
  uint64_t clients_registered = 0;
  uint64_t clients_expired = 0;  // silent longer than expiry
  uint64_t clients_dropped = 0;  // could not be served at all (more models than client_queue)
  uint64_t clients_stalled = 0;  // times a client's pipe was full (owed whole-model notes)
  uint64_t clients_gone = 0;     // disconnected (the sink could not route to them)
};

enum class forget_reason : uint8_t { expired, slow, gone };
enum class send_result : uint8_t { sent, full, gone };
enum class watch_result : uint8_t { added, exists, too_many };

// One note handed to a sink. `id` is the same for every client receiving the
// same note in one flush, so a sink can encode it once.
struct pending_note {
  static constexpr uint32_t kUnshared = UINT32_MAX;  // id of a note owed to one client
  std::string_view model;
  std::optional<std::string_view> key;  // nullopt: the whole model
  uint64_t seq = 0;
  uint32_t id = 0;
};

// Where flush() delivers. send() must not block: `full` when the client's
// pipe cannot take the note now, `gone` when the client is unreachable.
class note_sink {
 public:
  virtual ~note_sink() = default;
  virtual send_result send(std::string_view identity, bool delimiter, const pending_note& n) = 0;
};

class notifier_registry {
 public:
  using clock = std::chrono::steady_clock;
  using client_id = uint32_t;
  static constexpr client_id npos = UINT32_MAX;

  explicit notifier_registry(const registry_limits& lim);

  // The client with this connection identity, or npos.
  client_id find(std::string_view identity) const;
  // Registers a client not yet known (find() == npos) as alive at `now`;
  // npos when max_clients are registered.
  client_id add(std::string_view identity, bool delimiter, clock::time_point now);
  // Marks the client alive at `now`; `delimiter` is the envelope it used.
  void touch(client_id id, bool delimiter, clock::time_point now);

  watch_result watch(client_id id, std::string_view model, std::optional<std::string_view> key);
  // True if the watch existed.
  bool unwatch(client_id id, std::string_view model, std::optional<std::string_view> key);
  size_t watch_count(client_id id) const;

  // Queues notes for one change report (keys empty: the whole model). Each
  // key's note carries its entry of key_seqs, or seq when key_seqs is empty
  // (otherwise it has one entry per key).
  void report(std::string_view model, std::span<const std::string_view> keys, uint64_t seq,
              std::span<const uint64_t> key_seqs = {});
  // Delivers the notes owed to stalled clients, then every queued note;
  // forgets clients the sink cannot reach.
  void flush(note_sink& sink);
  // Clients whose pipe was full and who are owed notes: flush() is worth
  // calling again soon even without a new report.
  size_t stalled_clients() const { return stalled_.size(); }
  // Forgets clients silent for longer than expiry; returns how many.
  size_t expire(clock::time_point now);
  // When the next client would expire (nullopt: no client).
  std::optional<clock::time_point> next_expiry() const;
  void forget(client_id id, forget_reason why);

  size_t clients() const { return live_clients_; }
  size_t watches() const { return total_watches_; }
  size_t models() const { return models_.size(); }
  size_t queued_notes() const;
  const registry_stats& stats() const { return stats_; }
  const registry_limits& limits() const { return lim_; }

 private:
  struct client_slot {
    std::string identity;
    bool live = false;
    bool delimiter = false;
    bool dirty = false;  // listed in dirty_
    clock::time_point last_seen{};
    client_id prev = npos, next = npos;    // LRU list, oldest first
    string_set watches;                    // watch keys (see watch_key())
    std::vector<uint32_t> queue;           // note ids
    absl::flat_hash_set<uint32_t> queued;  // the same ids, kept once queue is long
    string_map<uint64_t> owed;             // stalled: model -> seq of its owed whole note
  };
  struct model_entry {
    absl::flat_hash_set<client_id> whole;
    string_map<absl::flat_hash_set<client_id>> keys;
    size_t watches = 0;
  };
  struct note_record {
    std::string model;
    std::optional<std::string> key;
    uint64_t seq = 0;
  };

  uint32_t note_for(std::string_view model, std::optional<std::string_view> key, uint64_t seq);
  // Queues `note` for a client unless it or the model's `whole` note (if
  // not UINT32_MAX) is already queued for it.
  void enqueue(client_id id, uint32_t note, uint32_t whole);
  bool queued(const client_slot& c, uint32_t note) const;
  void fold(client_id id, uint32_t note);
  // The sink refused the client's queue from position `from` on: owe it.
  void stall(client_id id, size_t from);
  // Sends a stalled client's owed notes until the sink refuses one.
  send_result send_owed(client_id id, note_sink& sink);
  void remove_watch(client_id id, const std::string& wkey);
  void lru_unlink(client_id id);
  void lru_append(client_id id);

  registry_limits lim_;
  registry_stats stats_;
  std::vector<client_slot> slots_;
  std::vector<client_id> free_;
  string_map<client_id> by_identity_;
  client_id lru_head_ = npos, lru_tail_ = npos;
  size_t live_clients_ = 0;
  size_t total_watches_ = 0;
  string_map<model_entry> models_;
  // Notes queued since the last flush; cleared by flush().
  std::vector<note_record> notes_;
  string_map<uint32_t> note_ids_;  // watch key -> note id
  std::vector<client_id> dirty_;
  std::vector<client_id> doomed_;  // overflowed during report(); forgotten at its end
  std::vector<client_id> stalled_;  // clients with owed notes (each once)
};

// "model\0*" for a whole-model watch, "model\0=key" for a key watch.
std::string watch_key(std::string_view model, std::optional<std::string_view> key);

}  // namespace rill::transport
