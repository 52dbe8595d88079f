#pragma once
// string_pool: an append-only arena for strings a model keeps for its whole
// life (aggregate ids), so the hot path stores each one once, in one place,
// and everything else holds a std::string_view into it: no std::string per
// id in the records, no second copy as a hash map key, no small allocation
// per id, and records that stay trivially copyable when their vector grows.
//
// Strings are copied into chunks of kChunk bytes (a longer string gets a
// chunk of its own). A view returned by add() stays valid until the pool is
// destroyed or cleared; moving the pool keeps every view valid (the chunks
// do not move).
//
// Ownership: owns its chunks. Thread-safety: none (one owner, the model).
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace rill::readmodels {

class string_pool {
 public:
  static constexpr size_t kChunk = 64 << 10;

  string_pool() = default;
  string_pool(string_pool&& o) noexcept
      : chunks_(std::move(o.chunks_)),
        next_(std::exchange(o.next_, nullptr)),
        left_(std::exchange(o.left_, 0)) {}
  string_pool& operator=(string_pool&& o) noexcept {
    chunks_ = std::move(o.chunks_);
    next_ = std::exchange(o.next_, nullptr);
    left_ = std::exchange(o.left_, 0);
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

  void clear() {
    chunks_.clear();
    next_ = nullptr;
    left_ = 0;
  }

 private:
  void grow(size_t need) {
    const size_t size = need > kChunk ? need : kChunk;
    chunks_.push_back(std::make_unique_for_overwrite<char[]>(size));
    next_ = chunks_.back().get();
    left_ = size;
  }

  std::vector<std::unique_ptr<char[]>> chunks_;
  char* next_ = nullptr;
  size_t left_ = 0;
};

}  // namespace rill::readmodels
