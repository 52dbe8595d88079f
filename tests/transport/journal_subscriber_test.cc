// journal_subscriber: every event from a seq, in order, read from the
// journal; new events as they are published; the topic filter; a damaged
// journal is an error, not silence.
#include "transport/journal_subscriber.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "core/buffer.h"
#include "core/event.h"
#include "store/journal_writer.h"
#include "tests/support/child_process.h"
#include "tests/support/small_journal.h"

namespace rill::transport {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using rill::test::temp_dir;

std::unique_ptr<store::journal_writer> open_journal(const fs::path& dir) {
  return rill::test::open_small_journal(dir);  // the subscriber crosses several segments
}

// Odd seqs are customer/CUSTOMER_CREATED, even ones order/ORDER_PLACED.
std::string body_for(uint64_t seq) {
  const std::string id = "x" + std::to_string(seq);
  event_view e;
  e.seq = seq;
  e.ts = seq;
  e.type = seq % 2 ? "CUSTOMER_CREATED" : "ORDER_PLACED";
  e.agg = seq % 2 ? "customer" : "order";
  e.id = id;
  e.ver = 1;
  out_buffer buf;
  encode_event(buf, e);
  return std::string(buf.data(), buf.size());
}

void append(store::journal_writer& w, uint64_t from, uint64_t to) {
  for (uint64_t s = from; s <= to; ++s) ASSERT_EQ(w.append(s, body_for(s)), store::io_status::ok);
  w.publish();
}

TEST(JournalSubscriber, DeliversEveryEventFromItsSeqInOrderThenFollows) {
  temp_dir t;
  auto w = open_journal(t.path());
  ASSERT_TRUE(w);
  ASSERT_NO_FATAL_FAILURE(append(*w, 1, 2000));
  journal_subscriber sub(t.path(), 1500);
  std::span<const char> body;
  uint64_t seq = 0;
  for (uint64_t want = 1500; want <= 2000; ++want) {
    ASSERT_TRUE(sub.next(body, seq, 5s)) << want;
    ASSERT_EQ(seq, want);
    ASSERT_EQ(std::string(body.data(), body.size()), body_for(want));
  }
  EXPECT_FALSE(sub.next(body, seq, 1ms)) << "nothing more yet";
  EXPECT_EQ(sub.next_seq(), 2001u);
  std::thread later([&] {
    std::this_thread::sleep_for(20ms);
    append(*w, 2001, 2003);
  });
  ASSERT_TRUE(sub.next(body, seq, 30s)) << "a published event wakes it";
  EXPECT_EQ(seq, 2001u);
  later.join();
  ASSERT_TRUE(sub.next(body, seq, 5s));
  EXPECT_EQ(seq, 2002u);
}

TEST(JournalSubscriber, FromPastTheHeadWaitsForThatSeq) {
  temp_dir t;
  auto w = open_journal(t.path());
  ASSERT_TRUE(w);
  ASSERT_NO_FATAL_FAILURE(append(*w, 1, 10));
  journal_subscriber sub(t.path(), 13);
  std::span<const char> body;
  uint64_t seq = 0;
  EXPECT_FALSE(sub.next(body, seq, 1ms));
  ASSERT_NO_FATAL_FAILURE(append(*w, 11, 14));
  ASSERT_TRUE(sub.next(body, seq, 5s));
  EXPECT_EQ(seq, 13u);
}

TEST(JournalSubscriber, TheTopicPrefixFilters) {
  temp_dir t;
  auto w = open_journal(t.path());
  ASSERT_TRUE(w);
  ASSERT_NO_FATAL_FAILURE(append(*w, 1, 100));
  std::span<const char> body;
  uint64_t seq = 0;
  for (const std::string prefix : {"order", "order/", "order/ORDER_P", "ord"}) {
    journal_subscriber sub(t.path(), 1, prefix);
    for (uint64_t want = 2; want <= 100; want += 2) {
      ASSERT_TRUE(sub.next(body, seq, 5s)) << prefix;
      ASSERT_EQ(seq, want) << prefix;
    }
    EXPECT_FALSE(sub.next(body, seq, 1ms)) << prefix;
  }
  for (const std::string prefix : {"order/X", "orders", "customer/ORDER", "x"}) {
    journal_subscriber none(t.path(), 1, prefix);
    EXPECT_FALSE(none.next(body, seq, 1ms)) << prefix;
  }
  journal_subscriber customers(t.path(), 1, "customer/CUSTOMER_CREATED");
  ASSERT_TRUE(customers.next(body, seq, 5s));
  EXPECT_EQ(seq, 1u);
}

TEST(JournalSubscriber, ADamagedRecordThrows) {
  temp_dir t;
  {
    auto w = open_journal(t.path());
    ASSERT_TRUE(w);
    ASSERT_NO_FATAL_FAILURE(append(*w, 1, 5));
  }
  // Flip a byte inside the first record's body (after the 64-byte segment
  // header and the record's 16-byte header).
  const fs::path seg = t.path() / "seg-0000000001.rjl";
  std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f);
  f.seekg(64 + 16 + 4);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(64 + 16 + 4);
  f.write(&c, 1);
  f.close();
  journal_subscriber sub(t.path(), 1);
  std::span<const char> body;
  uint64_t seq = 0;
  EXPECT_THROW(sub.next(body, seq, 100ms), std::runtime_error);
}

}  // namespace
}  // namespace rill::transport
