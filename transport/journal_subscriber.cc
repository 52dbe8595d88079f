#include "transport/journal_subscriber.h"

#include <stdexcept>

#include "core/event.h"

namespace rill::transport {

namespace {

bool topic_starts_with(std::span<const char> body, std::string_view prefix) {
  std::string_view agg, type;
  if (event_kind_head k; peek_event_kind(body, k)) {
    agg = k.agg, type = k.type;
  } else if (event_head h; peek_event(body, h)) {
    agg = h.agg, type = h.type;
  } else {
    return false;
  }
  // "<agg>/<type>" starts with prefix, without building the string.
  if (prefix.size() <= agg.size()) return agg.substr(0, prefix.size()) == prefix;
  if (prefix.substr(0, agg.size()) != agg || prefix[agg.size()] != '/') return false;
  const std::string_view rest = prefix.substr(agg.size() + 1);
  return type.substr(0, rest.size()) == rest;
}

}  // namespace

journal_subscriber::journal_subscriber(std::filesystem::path journal_dir, uint64_t from,
                                       std::string topic_prefix)
    : dir_(journal_dir),
      reader_(std::move(journal_dir)),
      from_(from == 0 ? 1 : from),
      prefix_(std::move(topic_prefix)) {}

bool journal_subscriber::next(std::span<const char>& body, uint64_t& seq,
                              std::chrono::microseconds timeout) {
  auto fail = [&](store::io_status s) {
    throw std::runtime_error("journal " + dir_.string() + ": " + std::string(store::to_string(s)) +
                             " at seq " + std::to_string(reader_.position_seq()));
  };
  if (!positioned_) {
    if (const auto s = reader_.seek(from_); s != store::io_status::ok) fail(s);
    positioned_ = true;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
        deadline - std::chrono::steady_clock::now());
    store::record_view rec;
    const auto s = reader_.wait_next(rec, std::max(left, std::chrono::microseconds(0)));
    if (s == store::io_status::end_of_log) return false;
    if (s != store::io_status::ok) fail(s);
    if (!prefix_.empty() && !topic_starts_with(rec.body, prefix_)) {
      if (std::chrono::steady_clock::now() >= deadline) return false;  // skipped until the end
      continue;
    }
    body = rec.body;
    seq = rec.seq;
    return true;
  }
}

}  // namespace rill::transport
