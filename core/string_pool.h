#pragma once
// string_pool: an append-only arena for strings kept for a long time
// (aggregate ids in the validator's index and in read models), so the hot
// path stores each one once, in one place, and everything else holds a
// std::string_view into it: no std::string per id, no second copy as a hash
// map key, no small allocation per id (a heap block costs at least 32 bytes
// for an id of 10), and records that stay trivially copyable when their
// vector grows.
//
// Strings are copied into chunks of kChunk bytes (a longer string gets a
// chunk of its own). A view returned by add() stays valid until the pool is
// destroyed or cleared, or released past it; moving the pool keeps every
// view valid (the chunks do not move).
//
// mark() / release_to() undo the newest additions (the validator's rollback
// of an aborted batch's creates): every view added after the mark becomes
// invalid, and its bytes are reused.
//
// Ownership: owns its chunks. Thread-safety: none (one owner).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace rill {

class string_pool {
 public:
  static constexpr size_t kChunk = 64 << 10;

  // A position in the pool, for release_to().
  struct position {
    size_t chunks = 0;
    char* next = nullptr;
    size_t left = 0;
  };

  string_pool() = default;
  string_pool(string_pool&& o) noexcept
      : chunks_(std::move(o.chunks_)),
        sizes_(std::move(o.sizes_)),
        next_(std::exchange(o.next_, nullptr)),
        left_(std::exchange(o.left_, 0)),
        bytes_(std::exchange(o.bytes_, 0)) {}
  string_pool& operator=(string_pool&& o) noexcept {
    chunks_ = std::move(o.chunks_);
    sizes_ = std::move(o.sizes_);
    next_ = std::exchange(o.next_, nullptr);
    left_ = std::exchange(o.left_, 0);
    bytes_ = std::exchange(o.bytes_, 0);
    return *this;
  }
  string_pool(const string_pool&) = delete;
  string_pool& operator=(const string_pool&) = delete;

  // A stable copy of s.
  std::string_view add(std::string_view s) {
    if (s.empty()) return {};
    if (s.size() > left_) grow(s.size());
    char* dst = next_;
    std::memcpy(dst, s.data(), s.size());
    next_ += s.size();
    left_ -= s.size();
    return {dst, s.size()};
  }

  position mark() const { return {chunks_.size(), next_, left_}; }
  // Forgets everything added since `p` (a mark() of this pool, with no
  // release_to() past it since). Frees the chunks opened after it.
  void release_to(const position& p) {
    while (chunks_.size() > p.chunks) {
      bytes_ -= sizes_.back();
      chunks_.pop_back();
      sizes_.pop_back();
    }
    next_ = p.next;
    left_ = p.left;
  }

  void clear() {
    chunks_.clear();
    sizes_.clear();
    next_ = nullptr;
    left_ = 0;
    bytes_ = 0;
  }

  // Bytes held in chunks (used or not).
  size_t allocated() const { return bytes_; }

 private:
  void grow(size_t need) {
    const size_t size = need > kChunk ? need : kChunk;
    chunks_.push_back(std::make_unique_for_overwrite<char[]>(size));
    sizes_.push_back(size);
    bytes_ += size;
    next_ = chunks_.back().get();
    left_ = size;
  }

  std::vector<std::unique_ptr<char[]>> chunks_;
  std::vector<size_t> sizes_;  // of each chunk
  char* next_ = nullptr;
  size_t left_ = 0;
  size_t bytes_ = 0;
};

// A string in 16 bytes: up to 15 bytes inline, a longer one as a view into a
// string_pool. As a hash-map key it keeps short ids (most of them) in the
// slot itself, so comparing one costs no second cache miss, and a long one
// costs no heap block of its own. Trivially copyable; a long one is valid
// as long as its pool's bytes.
class short_or_pooled {
 public:
  static constexpr size_t kInline = 15;

  short_or_pooled() { b_[kInline] = 0; }
  // Inline when s fits, else copied into `pool`.
  short_or_pooled(std::string_view s, string_pool& pool) {
    if (s.size() <= kInline) {
      std::memcpy(b_, s.data(), s.size());
      b_[kInline] = static_cast<char>(s.size());
    } else {
      const std::string_view v = pool.add(s);
      const char* p = v.data();
      const auto n = static_cast<uint32_t>(v.size());
      std::memcpy(b_, &p, sizeof p);
      std::memcpy(b_ + 8, &n, sizeof n);
      b_[kInline] = static_cast<char>(kPooled);
    }
  }

  bool pooled() const { return static_cast<unsigned char>(b_[kInline]) == kPooled; }
  std::string_view view() const {
    if (!pooled()) return {b_, static_cast<size_t>(static_cast<unsigned char>(b_[kInline]))};
    const char* p;
    uint32_t n;
    std::memcpy(&p, b_, sizeof p);
    std::memcpy(&n, b_ + 8, sizeof n);
    return {p, n};
  }
  operator std::string_view() const { return view(); }  // NOLINT: a string, read as one

 private:
  static constexpr unsigned char kPooled = 0x80;
  char b_[16];
};
static_assert(sizeof(short_or_pooled) == 16);

}  // namespace rill
