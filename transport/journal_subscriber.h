#pragma once
// journal_subscriber: the event feed for a program on rill-core's own host,
// read straight from the journal instead of over ZeroMQ. It maps D/journal
// read-only (store::journal_reader) and delivers every event from a chosen
// seq, in order: no socket, no high-water mark, so nothing is ever dropped
// and there is no gap to fill. At the head it sleeps on the journal's bell
// (docs/journal-format.md), and an append reaches it in one futex wake-up.
// On this 2-vCPU machine that made command -> event 28-34% faster at p50
// than a SUB socket on the feed, in the same run (bench/RESULTS.md,
// session 11).
//
// It needs read access to D/journal, and write access to D/journal/BELL to
// sleep on the bell (otherwise it polls: 20 us of spinning, then sleeps of
// 20-500 us). For another host, use transport::event_subscriber
// (transport/client.h).
//
//   rill::transport::journal_subscriber sub("/var/lib/rill/journal", 1);
//   std::span<const char> body;
//   uint64_t seq;
//   while (sub.next(body, seq, std::chrono::milliseconds(500))) handle(seq, body);
//
// Ownership: owns its reader and mappings. Thread-safety: none; one thread.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "store/journal_reader.h"

namespace rill::transport {

class journal_subscriber {
 public:
  // Delivers events with seq >= from (1: the whole journal; a seq past the
  // head: from when it is written). With `topic_prefix`, only events whose
  // "<agg>/<TYPE>" starts with it. Does no I/O until next().
  journal_subscriber(std::filesystem::path journal_dir, uint64_t from,
                     std::string topic_prefix = "");

  // The next event: its MessagePack body as journaled (valid until the next
  // call) and its seq. False when none came within the timeout. Throws
  // std::runtime_error if the journal is damaged or cannot be read.
  bool next(std::span<const char>& body, uint64_t& seq, std::chrono::microseconds timeout);

  // The seq the next event will have at the earliest.
  uint64_t next_seq() const { return reader_.position_seq(); }

 private:
  std::filesystem::path dir_;
  store::journal_reader reader_;
  uint64_t from_;
  bool positioned_ = false;
  std::string prefix_;
};

}  // namespace rill::transport
