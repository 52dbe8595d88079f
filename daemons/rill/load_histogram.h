#pragma once
// latency_histogram: a log-linear histogram of durations in nanoseconds, in
// the style of HdrHistogram. Values below 256 ns have a bucket each; above,
// every power of two is split into 128 equal buckets, so a bucket is at most
// 1/128 of its lower bound wide and a reported value (the bucket's midpoint,
// clamped to the exact min and max) is within 0.4% of any value in it.
// 7424 buckets cover the whole uint64 range; recording is a few shifts and
// one increment, with no allocation after construction.
//
// Header-only, so that tests can use it without the CLI's objects.
//
// Ownership: owns its counters. Thread-safety: not thread-safe; each load
// connection records into its own histogram and they are merged at the end.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace rill::cli {

class latency_histogram {
 public:
  static constexpr uint32_t linear_limit = 256;   // exact buckets below this
  static constexpr uint32_t sub_bits = 7;         // 128 buckets per power of two
  static constexpr uint32_t bucket_count = linear_limit + (64 - 8) * (1u << sub_bits);

  latency_histogram() : counts_(bucket_count, 0) {}

  // Records one value. Not thread-safe.
  void record(uint64_t ns) {
    ++counts_[bucket_of(ns)];
    ++count_;
    sum_ += static_cast<double>(ns);
    if (ns < min_) min_ = ns;
    if (ns > max_) max_ = ns;
  }
  // Adds every value of `o`. Not thread-safe.
  void merge(const latency_histogram& o);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  // The value at quantile q in [0, 1] (q = 0.99 -> p99): the smallest
  // recorded value v with at least ceil(q * count) values <= v, to the
  // bucket's precision. 0 when empty.
  uint64_t quantile(double q) const;

  static uint32_t bucket_of(uint64_t ns);
  static uint64_t bucket_low(uint32_t index);
  static uint64_t bucket_width(uint32_t index);

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  double sum_ = 0;
};

inline uint32_t latency_histogram::bucket_of(uint64_t ns) {
  if (ns < linear_limit) return static_cast<uint32_t>(ns);
  const uint32_t msb = 63 - static_cast<uint32_t>(std::countl_zero(ns));  // >= 8
  const uint32_t shift = msb - sub_bits;
  const uint32_t sub = static_cast<uint32_t>(ns >> shift) & ((1u << sub_bits) - 1);
  return linear_limit + (msb - 8) * (1u << sub_bits) + sub;
}

inline uint64_t latency_histogram::bucket_low(uint32_t index) {
  if (index < linear_limit) return index;
  const uint32_t rel = index - linear_limit;
  const uint32_t msb = rel / (1u << sub_bits) + 8;
  const uint64_t sub = rel % (1u << sub_bits);
  return ((uint64_t{1} << sub_bits) + sub) << (msb - sub_bits);
}

inline uint64_t latency_histogram::bucket_width(uint32_t index) {
  if (index < linear_limit) return 1;
  const uint32_t msb = (index - linear_limit) / (1u << sub_bits) + 8;
  return uint64_t{1} << (msb - sub_bits);
}

inline void latency_histogram::merge(const latency_histogram& o) {
  for (uint32_t i = 0; i < bucket_count; ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

inline uint64_t latency_histogram::quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (uint32_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t mid = bucket_low(i) + bucket_width(i) / 2;
      return std::clamp(mid, min(), max_);
    }
  }
  return max_;
}

}  // namespace rill::cli
