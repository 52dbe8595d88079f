#pragma once
// out_buffer: a growable byte buffer that messages are encoded into. It is the
// stream of a msgpack::packer<out_buffer> (it has write(const char*, size_t)),
// and is meant to be reused: clear() keeps the capacity, so encoding message
// after message allocates nothing once the buffer has grown to the largest one.
//
// Ownership: owns its bytes. data()/span() are invalidated by any write.
// Thread-safety: not thread-safe; one owner thread.
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <string_view>
#include <utility>

namespace rill {

class out_buffer {
 public:
  out_buffer() = default;
  explicit out_buffer(size_t capacity) { reserve(capacity); }
  ~out_buffer() { std::free(data_); }

  out_buffer(out_buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  out_buffer& operator=(out_buffer&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }
  out_buffer(const out_buffer&) = delete;
  out_buffer& operator=(const out_buffer&) = delete;

  // Appends n bytes. Grows geometrically; throws std::bad_alloc only when the
  // process is out of memory. Not thread-safe.
  void write(const char* p, size_t n) {
    if (n > capacity_ - size_) grow(n);
    if (n != 0) std::memcpy(data_ + size_, p, n);
    size_ += n;
  }
  void append(std::string_view s) { write(s.data(), s.size()); }
  void push_back(char c) {
    if (size_ == capacity_) grow(1);
    data_[size_++] = c;
  }

  // Makes room for at least `capacity` bytes in total. Not thread-safe.
  void reserve(size_t capacity) {
    if (capacity > capacity_) grow(capacity - size_);
  }
  // Empties the buffer, keeping its memory. Not thread-safe.
  void clear() { size_ = 0; }
  // Empties the buffer and frees its memory when it holds more than `keep`
  // bytes (a buffer that grew for one large batch). Not thread-safe.
  void clear_and_release(size_t keep) {
    size_ = 0;
    if (capacity_ <= keep) return;
    std::free(data_);
    data_ = nullptr;
    capacity_ = 0;
  }
  // Shrinks the content to n bytes (n <= size()). Not thread-safe.
  void truncate(size_t n) {
    if (n < size_) size_ = n;
  }

  const char* data() const { return data_; }
  char* data() { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  std::span<const char> span() const { return {data_, size_}; }
  std::string_view view() const { return {data_, size_}; }

 private:
  void grow(size_t need) {
    size_t cap = capacity_ < 256 ? 256 : capacity_ * 2;
    while (cap - size_ < need) cap *= 2;
    void* p = std::realloc(data_, cap);
    if (p == nullptr) throw std::bad_alloc();
    data_ = static_cast<char*>(p);
    capacity_ = cap;
  }

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace rill
