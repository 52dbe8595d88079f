// validator::serialize / load: the checkpoint body of core/index_checkpoint.h.
#include <bit>
#include <cstring>

#include <xxhash.h>

#include "core/index_checkpoint.h"
#include "core/validator.h"

namespace rill {

namespace {

static_assert(std::endian::native == std::endian::little,
              "the checkpoint is written in host order, which must be little-endian");

template <class T>
void put(out_buffer& out, T v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof(T));
}

void put_str(out_buffer& out, std::string_view s) {
  put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

// Bounds-checked reader over the body.
class reader {
 public:
  explicit reader(std::span<const char> b) : p_(b.data()), end_(b.data() + b.size()) {}
  template <class T>
  bool get(T& v) {
    if (static_cast<size_t>(end_ - p_) < sizeof(T)) return false;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return true;
  }
  bool get_str(std::string_view& s) {
    uint32_t n;
    if (!get(n) || static_cast<size_t>(end_ - p_) < n) return false;
    s = {p_, n};
    p_ += n;
    return true;
  }
  bool skip(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

 private:
  const char* p_;
  const char* end_;
};

}  // namespace

void validator::serialize(out_buffer& out, uint64_t seq) const {
  const size_t start = out.size();
  out.write(index_checkpoint::magic, sizeof index_checkpoint::magic);
  put<uint32_t>(out, index_checkpoint::version);
  put<uint32_t>(out, 0);
  put<uint64_t>(out, seq);
  put<uint32_t>(out, static_cast<uint32_t>(index_.size() + foreign_.size()));
  put<uint32_t>(out, 0);
  auto put_type = [&out](std::string_view name, const version_map& m) {
    put_str(out, name);
    put<uint64_t>(out, m.size());
    m.for_each([&out](const hashed_key<short_or_pooled>& id, uint64_t ver) {
      put_str(out, id.s);
      put<uint64_t>(out, ver);
    });
  };
  for (size_t i = 0; i < index_.size(); ++i) put_type(schema_.aggregate(i).name, index_[i]);
  // Types of another schema go along, so that a start under that schema
  // again finds its aggregates (docs/schema.md).
  for (const auto& [name, m] : foreign_) put_type(name, m);
  put<uint64_t>(out, key_fifo_.size());
  for (const std::string& k : key_fifo_) {
    const key_entry& e = *keys_.find(hashed(k));
    put_str(out, k);
    put<uint64_t>(out, e.seq);
    put<uint64_t>(out, e.ver);
  }
  const uint64_t sum = XXH3_64bits(out.data() + start, out.size() - start);
  put<uint64_t>(out, sum);
}

bool validator::load(std::span<const char> body, uint64_t& seq) {
  using namespace index_checkpoint;
  if (body.size() < header_size + checksum_size) return false;
  if (std::memcmp(body.data(), magic, sizeof magic) != 0) return false;
  const size_t payload = body.size() - checksum_size;
  uint64_t stored;
  std::memcpy(&stored, body.data() + payload, sizeof stored);
  if (XXH3_64bits(body.data(), payload) != stored) return false;

  reader r(body.first(payload));
  uint32_t fmt, flags, ntypes, reserved;
  uint64_t at_seq;
  if (!r.skip(sizeof magic) || !r.get(fmt) || fmt != index_checkpoint::version || !r.get(flags) || flags != 0 ||
      !r.get(at_seq) || !r.get(ntypes) || !r.get(reserved)) {
    return false;
  }
  string_pool ids;
  std::vector<version_map> index(schema_.aggregate_count());
  std::map<std::string, version_map, std::less<>> foreign;
  for (uint32_t t = 0; t < ntypes; ++t) {
    std::string_view name;
    uint64_t count;
    if (!r.get_str(name) || !r.get(count)) return false;
    // Each entry takes at least 12 bytes: a count beyond that is a lie.
    if (count > r.remaining() / 12) return false;
    const aggregate_def* a = schema_.find_aggregate(name);
    version_map* m = nullptr;
    if (a != nullptr) {
      m = &index[a->index];
    } else {
      auto [it, fresh] = foreign.emplace(std::string(name), version_map());
      if (!fresh) return false;  // a type written twice
      m = &it->second;
    }
    m->reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      std::string_view id;
      uint64_t ver;
      if (!r.get_str(id) || !r.get(ver)) return false;
      if (!m->emplace(hashed_key<short_or_pooled>{short_or_pooled(id, ids), hashed(id).h}, ver))
        return false;
    }
  }
  uint64_t nkeys;
  if (!r.get(nkeys) || nkeys > r.remaining() / 20) return false;
  std::deque<std::string> fifo;
  key_map keys;
  keys.reserve(nkeys);
  for (uint64_t i = 0; i < nkeys; ++i) {
    std::string_view k;
    key_entry e;
    if (!r.get_str(k) || !r.get(e.seq) || !r.get(e.ver)) return false;
    fifo.emplace_back(k);
    if (!keys.emplace(hashed(fifo.back()), e)) return false;
  }
  if (r.remaining() != 0) return false;
  // Deque elements stay where they are when the deque is swapped, so the
  // views in keys stay valid.
  // Moving the pool keeps its chunks (and the index's views) in place.
  ids_ = std::move(ids);
  index_.swap(index);
  foreign_.swap(foreign);
  key_fifo_.swap(fifo);
  keys_ = std::move(keys);
  undo_.clear();
  undo_ids_.clear();
  evict_keys();
  seq = at_seq;
  return true;
}

}  // namespace rill
