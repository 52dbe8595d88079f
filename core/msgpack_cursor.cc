#include "core/msgpack_cursor.h"

#include <bit>
#include <cstring>
#include <limits>

namespace rill {

namespace {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big);

template <class T>
T load_be(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  if constexpr (std::endian::native == std::endian::little) {
    if constexpr (sizeof(T) == 2) v = __builtin_bswap16(v);
    if constexpr (sizeof(T) == 4) v = __builtin_bswap32(v);
    if constexpr (sizeof(T) == 8) v = __builtin_bswap64(v);
  }
  return v;
}

// Width of the big-endian length / value that follows a type byte.
uint64_t load_width(const uint8_t* p, int width) {
  switch (width) {
    case 1: return *p;
    case 2: return load_be<uint16_t>(p);
    case 4: return load_be<uint32_t>(p);
    default: return load_be<uint64_t>(p);
  }
}

}  // namespace

bool msgpack_cursor::scan(kind& k, uint64_t& count, uint64_t& raw, const uint8_t*& payload,
                          const uint8_t*& next) const {
  if (p_ >= end_) return false;
  const size_t avail = static_cast<size_t>(end_ - p_) - 1;  // bytes after the type byte
  const uint8_t b = *p_;
  const uint8_t* q = p_ + 1;
  count = 0;
  raw = 0;
  payload = q;
  // Fixed-size forms first.
  if (b <= 0x7f) {
    k = kind::uint;
    raw = b;
    next = q;
    return true;
  }
  if (b >= 0xe0) {
    k = kind::nint;
    raw = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(b)));
    next = q;
    return true;
  }
  if (b <= 0x8f) {
    k = kind::map;
    count = b & 0x0f;
    next = q;
    return true;
  }
  if (b <= 0x9f) {
    k = kind::array;
    count = b & 0x0f;
    next = q;
    return true;
  }
  if (b <= 0xbf) {
    count = b & 0x1f;
    if (count > avail) return false;
    k = kind::str;
    next = q + count;
    return true;
  }
  // 0xc0..0xdf
  int width = 0;        // bytes of the length or value after the type byte
  int fixext_len = -1;  // for fixext: payload bytes
  switch (b) {
    case 0xc0: k = kind::nil; next = q; return true;
    case 0xc1: return false;
    case 0xc2: k = kind::boolean; raw = 0; next = q; return true;
    case 0xc3: k = kind::boolean; raw = 1; next = q; return true;
    case 0xc4: k = kind::bin; width = 1; break;
    case 0xc5: k = kind::bin; width = 2; break;
    case 0xc6: k = kind::bin; width = 4; break;
    case 0xc7: k = kind::ext; width = 1; break;
    case 0xc8: k = kind::ext; width = 2; break;
    case 0xc9: k = kind::ext; width = 4; break;
    case 0xca: k = kind::float32; width = 4; break;
    case 0xcb: k = kind::float64; width = 8; break;
    case 0xcc: k = kind::uint; width = 1; break;
    case 0xcd: k = kind::uint; width = 2; break;
    case 0xce: k = kind::uint; width = 4; break;
    case 0xcf: k = kind::uint; width = 8; break;
    case 0xd0: k = kind::nint; width = 1; break;
    case 0xd1: k = kind::nint; width = 2; break;
    case 0xd2: k = kind::nint; width = 4; break;
    case 0xd3: k = kind::nint; width = 8; break;
    case 0xd4: k = kind::ext; fixext_len = 1; break;
    case 0xd5: k = kind::ext; fixext_len = 2; break;
    case 0xd6: k = kind::ext; fixext_len = 4; break;
    case 0xd7: k = kind::ext; fixext_len = 8; break;
    case 0xd8: k = kind::ext; fixext_len = 16; break;
    case 0xd9: k = kind::str; width = 1; break;
    case 0xda: k = kind::str; width = 2; break;
    case 0xdb: k = kind::str; width = 4; break;
    case 0xdc: k = kind::array; width = 2; break;
    case 0xdd: k = kind::array; width = 4; break;
    case 0xde: k = kind::map; width = 2; break;
    default: k = kind::map; width = 4; break;  // 0xdf
  }
  if (fixext_len >= 0) {  // type byte + data
    if (avail < 1 + static_cast<size_t>(fixext_len)) return false;
    count = static_cast<uint64_t>(fixext_len);
    payload = q;  // the ext type byte, then the data
    next = q + 1 + fixext_len;
    return true;
  }
  if (avail < static_cast<size_t>(width)) return false;
  const uint64_t v = load_width(q, width);
  q += width;
  const size_t rest = avail - static_cast<size_t>(width);
  switch (k) {
    case kind::uint:
    case kind::float32:
    case kind::float64:
      raw = v;
      next = q;
      return true;
    case kind::nint: {
      int64_t s;
      switch (width) {
        case 1: s = static_cast<int8_t>(v); break;
        case 2: s = static_cast<int16_t>(v); break;
        case 4: s = static_cast<int32_t>(v); break;
        default: s = static_cast<int64_t>(v); break;
      }
      if (s >= 0) k = kind::uint;  // a signed encoding of a non-negative value
      raw = static_cast<uint64_t>(s);
      next = q;
      return true;
    }
    case kind::array:
    case kind::map:
      count = v;
      next = q;
      return true;
    case kind::str:
    case kind::bin:
      if (v > rest) return false;
      count = v;
      payload = q;
      next = q + v;
      return true;
    case kind::ext:  // length, type byte, data
      if (rest < 1 || v > rest - 1) return false;
      count = v;
      payload = q;
      next = q + 1 + v;
      return true;
    default:
      return false;
  }
}

msgpack_cursor::kind msgpack_cursor::peek_kind() const {
  if (p_ >= end_) return kind::end;
  kind k;
  uint64_t count, raw;
  const uint8_t *payload, *next;
  return scan(k, count, raw, payload, next) ? k : kind::invalid;
}

bool msgpack_cursor::read_header(kind& k, uint64_t& count) {
  uint64_t raw;
  const uint8_t *payload, *next;
  if (!scan(k, count, raw, payload, next)) return false;
  if (k != kind::array && k != kind::map && k != kind::str && k != kind::bin && k != kind::ext) {
    count = raw;
  }
  p_ = next;
  return true;
}

bool msgpack_cursor::read_header(kind& k, uint64_t& count, std::string_view& out) {
  uint64_t raw;
  const uint8_t *payload, *next;
  if (!scan(k, count, raw, payload, next)) return false;
  if (k == kind::str || k == kind::bin || k == kind::ext) {
    out = {reinterpret_cast<const char*>(payload), static_cast<size_t>(next - payload)};
  } else {
    out = {};
    if (k != kind::array && k != kind::map) count = raw;
  }
  p_ = next;
  return true;
}

bool msgpack_cursor::read_uint(uint64_t& v) {
  kind k;
  uint64_t count, raw;
  const uint8_t *payload, *next;
  if (!scan(k, count, raw, payload, next) || k != kind::uint) return false;
  v = raw;
  p_ = next;
  return true;
}

bool msgpack_cursor::read_int(int64_t& v) {
  kind k;
  uint64_t count, raw;
  const uint8_t *payload, *next;
  if (!scan(k, count, raw, payload, next)) return false;
  if (k == kind::uint) {
    if (raw > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
  } else if (k != kind::nint) {
    return false;
  }
  v = static_cast<int64_t>(raw);
  p_ = next;
  return true;
}

bool msgpack_cursor::read_number(double& v) {
  kind k;
  uint64_t count, raw;
  const uint8_t *payload, *next;
  if (!scan(k, count, raw, payload, next)) return false;
  switch (k) {
    case kind::uint: v = static_cast<double>(raw); break;
    case kind::nint: v = static_cast<double>(static_cast<int64_t>(raw)); break;
    case kind::float32: v = std::bit_cast<float>(static_cast<uint32_t>(raw)); break;
    case kind::float64: v = std::bit_cast<double>(raw); break;
    default: return false;
  }
  p_ = next;
  return true;
}

bool msgpack_cursor::read_bool(bool& v) {
  kind k;
  uint64_t count, raw;
  const uint8_t *payload, *next;
  if (!scan(k, count, raw, payload, next) || k != kind::boolean) return false;
  v = raw != 0;
  p_ = next;
  return true;
}

bool msgpack_cursor::read_nil() {
  if (p_ >= end_ || *p_ != 0xc0) return false;
  ++p_;
  return true;
}

bool msgpack_cursor::read_str_any(std::string_view& s) {
  kind k;
  uint64_t count, raw;
  const uint8_t *payload, *next;
  if (!scan(k, count, raw, payload, next) || k != kind::str) return false;
  s = {reinterpret_cast<const char*>(payload), static_cast<size_t>(count)};
  p_ = next;
  return true;
}

bool msgpack_cursor::read_bin(std::string_view& s) {
  kind k;
  uint64_t count, raw;
  const uint8_t *payload, *next;
  if (!scan(k, count, raw, payload, next) || k != kind::bin) return false;
  s = {reinterpret_cast<const char*>(payload), static_cast<size_t>(count)};
  p_ = next;
  return true;
}

bool msgpack_cursor::read_map_header(uint32_t& n) {
  kind k;
  uint64_t count, raw;
  const uint8_t *payload, *next;
  if (!scan(k, count, raw, payload, next) || k != kind::map) return false;
  n = static_cast<uint32_t>(count);
  p_ = next;
  return true;
}

bool msgpack_cursor::read_array_header(uint32_t& n) {
  kind k;
  uint64_t count, raw;
  const uint8_t *payload, *next;
  if (!scan(k, count, raw, payload, next) || k != kind::array) return false;
  n = static_cast<uint32_t>(count);
  p_ = next;
  return true;
}

bool msgpack_cursor::skip() {
  uint64_t unlimited = UINT64_MAX;
  return skip(unlimited);
}

bool msgpack_cursor::skip_walk(uint64_t& budget) {
  msgpack_cursor c = *this;
  uint64_t pending = 1;
  uint64_t left = budget;
  while (pending != 0) {
    if (left == 0) return false;
    --left;
    // The forms most values take (fixint, fixstr, fixmap) inline; read_header
    // for the rest. pending >= 1 here, so pending - 1 + 2n cannot wrap.
    if (c.p_ == c.end_) return false;
    const uint8_t b = *c.p_;
    if (b <= 0x7f || b >= 0xe0) {
      ++c.p_;
      --pending;
      continue;
    }
    if ((b & 0xe0) == 0xa0) {
      const size_t n = b & 0x1f;
      if (c.remaining() - 1 < n) return false;
      c.p_ += 1 + n;
      --pending;
      continue;
    }
    if ((b & 0xf0) == 0x80) {
      ++c.p_;
      pending += 2 * (b & 0x0f) - 1;
      if (pending > c.remaining()) return false;
      continue;
    }
    kind k;
    uint64_t count;
    if (!c.read_header(k, count)) return false;
    --pending;
    if (k == kind::array) pending += count;
    if (k == kind::map) pending += 2 * count;
    // Every pending value takes at least one byte: a header that claims more
    // than the bytes left is truncated input (and pending cannot overflow).
    if (pending > c.remaining()) return false;
  }
  *this = c;
  budget = left;
  return true;
}

}  // namespace rill
