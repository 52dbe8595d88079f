#include "bench/peers/peer_common.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace rill::peers {

namespace {

constexpr uint64_t ts_marker = 0x0102030405060708ull;  // found and patched
constexpr const char* id_marker = "c000000000000";     // 'c' + 12 digits
constexpr std::size_t id_digits = 12;

}  // namespace

event_payload::event_payload() {
  nlohmann::ordered_json data;
  data["name"] = std::string("Customer ") + id_marker;
  data["email"] = std::string(id_marker) + "@example.com";
  data["country"] = "DE";
  nlohmann::ordered_json e;
  e["ts"] = ts_marker;
  e["agg"] = "customer";
  e["type"] = "CUSTOMER_CREATED";
  e["id"] = id_marker;
  e["ver"] = 1;
  e["data"] = data;
  const auto packed = nlohmann::ordered_json::to_msgpack(e);
  bytes_.assign(packed.begin(), packed.end());
  // ts is the first key: fixmap, fixstr "ts", 0xcf, 8 bytes big-endian.
  if (bytes_.size() < 13 || static_cast<uint8_t>(bytes_[4]) != 0xcf)
    throw std::logic_error("event_payload: unexpected msgpack layout");
  for (std::size_t at = bytes_.find(id_marker); at != std::string::npos;
       at = bytes_.find(id_marker, at + 1))
    id_at_.push_back(at + 1);
  if (id_at_.size() != 3) throw std::logic_error("event_payload: id not found three times");
}

void event_payload::set(uint64_t n, uint64_t ts_ns) {
  char digits[id_digits];
  for (std::size_t i = id_digits; i-- > 0;) {
    digits[i] = static_cast<char>('0' + n % 10);
    n /= 10;
  }
  for (const std::size_t at : id_at_) std::memcpy(bytes_.data() + at, digits, id_digits);
  for (int i = 0; i < 8; ++i) bytes_[5 + i] = static_cast<char>((ts_ns >> (56 - 8 * i)) & 0xff);
}

uint64_t event_payload::read_ts(const char* data, std::size_t size) {
  if (size < 13 || static_cast<uint8_t>(data[4]) != 0xcf) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(data[5 + i]);
  return v;
}

nlohmann::json latency_json(const latency_histogram& h) {
  auto us = [](double ns) { return std::round(ns / 10) / 100; };
  return {{"count", h.count()},
          {"min", us(static_cast<double>(h.min()))},
          {"mean", us(h.mean())},
          {"p50", us(static_cast<double>(h.quantile(0.5)))},
          {"p90", us(static_cast<double>(h.quantile(0.9)))},
          {"p99", us(static_cast<double>(h.quantile(0.99)))},
          {"p999", us(static_cast<double>(h.quantile(0.999)))},
          {"max", us(static_cast<double>(h.max()))}};
}

}  // namespace rill::peers
