#pragma once
// msgpack_cursor: a tiny zero-copy reader over MessagePack bytes, for the hot
// paths that must not build a msgpack::object tree (peek_event, topic
// building, index rebuild) and for the structural pre-check of requests.
//
// Every read is bounds-checked and never throws. A read that fails (wrong
// type, truncated input) returns false and leaves the cursor where it was, so
// the caller may try another read or fall back to a generic walk. Strings are
// returned as views into the borrowed bytes (no UTF-8 check here).
//
// Ownership: borrows the bytes, which must outlive the cursor and every view
// it returned. Thread-safety: not thread-safe (a value type; copy it freely).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace rill {

class msgpack_cursor {
 public:
  // The family of the next value, from its first byte.
  enum class kind : uint8_t { end, invalid, nil, boolean, uint, nint, float32, float64, str, bin,
                              array, map, ext };

  msgpack_cursor() = default;
  explicit msgpack_cursor(std::span<const char> bytes)
      : begin_(reinterpret_cast<const uint8_t*>(bytes.data())),
        p_(begin_),
        end_(begin_ + bytes.size()) {}

  // Kind of the next value (end when no byte is left). Does not move.
  kind peek_kind() const;

  // A non-negative integer (positive fixint, uint 8..64, or int 8..64 >= 0).
  bool read_uint(uint64_t& v);
  // Any integer that fits int64_t.
  bool read_int(int64_t& v);
  // Any integer or float, as a double.
  bool read_number(double& v);
  bool read_bool(bool& v);
  bool read_nil();
  // A str (fixstr, str 8/16/32); the view points into the borrowed bytes.
  // A fixstr (most field names and short values) is read inline.
  bool read_str(std::string_view& s) {
    if (p_ != end_ && (*p_ & 0xe0) == 0xa0) {
      const size_t n = *p_ & 0x1f;
      if (static_cast<size_t>(end_ - p_) - 1 < n) return false;
      s = {reinterpret_cast<const char*>(p_ + 1), n};
      p_ += 1 + n;
      return true;
    }
    return read_str_any(s);
  }
  // A bin (bin 8/16/32).
  bool read_bin(std::string_view& s);
  // Container headers: n is the number of elements (pairs for a map). The
  // elements follow and are read or skipped one by one.
  bool read_map_header(uint32_t& n);
  bool read_array_header(uint32_t& n);
  // Skips one complete value (containers with all their contents).
  // Iterative: no recursion whatever the nesting. Fails on truncated input.
  bool skip();
  // The same, but fails (without moving) once more than `budget` values would
  // have to be read; budget is decreased by the values read. Bounds the work
  // spent on a hostile message.
  bool skip(uint64_t& budget) {
    // A fixint or fixstr inline; anything else walks.
    if (p_ != end_ && budget != 0) {
      const uint8_t b = *p_;
      if (b <= 0x7f || b >= 0xe0) {
        ++p_;
        --budget;
        return true;
      }
      if ((b & 0xe0) == 0xa0 && static_cast<size_t>(end_ - p_) - 1 >= (b & 0x1fu)) {
        p_ += 1 + (b & 0x1f);
        --budget;
        return true;
      }
    }
    return skip_walk(budget);
  }

  bool at_end() const { return p_ == end_; }
  size_t offset() const { return static_cast<size_t>(p_ - begin_); }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  // The bytes of everything read so far since `from` (an earlier offset()).
  std::span<const char> bytes_since(size_t from) const {
    return {reinterpret_cast<const char*>(begin_) + from, offset() - from};
  }

  // Reads one value's header: its kind, and in count: for containers the
  // element count (map: pairs), for str/bin/ext the payload length, for
  // scalars the value's bits (uint: the value; nint: the int64 bits; boolean:
  // 0/1; float32/float64: the IEEE bits; nil: 0). Advances past the header
  // only (and past the payload for scalars, str, bin and ext). Used by skip()
  // and by structural decoders. Returns false on truncation or an invalid byte.
  bool read_header(kind& k, uint64_t& count);
  // The same, also returning the payload of a str / bin / ext (empty view for
  // other kinds).
  bool read_header(kind& k, uint64_t& count, std::string_view& payload);

 private:
  bool read_str_any(std::string_view& s);
  bool skip_walk(uint64_t& budget);
  // Decodes the value header at p_ without moving. raw: the integer bits (as
  // uint64, sign-extended for negative ints) or the float bits; next: where
  // the cursor goes after reading the header (and the payload of str / bin /
  // ext and every scalar).
  bool scan(kind& k, uint64_t& count, uint64_t& raw, const uint8_t*& payload,
            const uint8_t*& next) const;

  const uint8_t* begin_ = nullptr;
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
};

}  // namespace rill
