#include "core/validator.h"

#include <gtest/gtest.h>

#include <deque>

#include "tests/core/msgpack_test_util.h"

namespace rill {
namespace {

using test::json;
using test::mp;

// Builds command_requests whose data stays alive for the test.
class ValidatorTest : public ::testing::Test {
 protected:
  command_request cmd(std::string_view agg, std::string_view name, std::string_view id,
                      const json& data = json::object()) {
    command_request c;
    c.agg = keep(agg);
    c.cmd = keep(name);
    c.id = keep(id);
    datas_.push_back(mp(data));
    const std::string& b = datas_.back();
    auto* o = static_cast<msgpack::object*>(zone_.allocate_align(sizeof(msgpack::object)));
    *o = msgpack::unpack(zone_, b.data(), b.size());
    c.data = o;
    return c;
  }
  command_request with_key(command_request c, std::string_view key) {
    c.has_key = true;
    c.key = keep(key);
    return c;
  }
  command_request with_expect(command_request c, int64_t v) {
    c.has_expect = true;
    c.expect = v;
    return c;
  }
  std::string_view keep(std::string_view s) { return strings_.emplace_back(s); }
  command_request customer(std::string_view id) {
    return cmd("customer", "CREATE_CUSTOMER", id, {{"name", "Ada"}, {"email", "a@x.org"}});
  }
  command_request order(std::string_view id, std::string_view customer_id) {
    return cmd("order", "CREATE_ORDER", id,
               {{"customer_id", customer_id}, {"amount", 10}, {"currency", "USD"}});
  }

  std::deque<std::string> strings_, datas_;
  msgpack::zone zone_;
  validator v_{schema::default_schema()};
};

TEST_F(ValidatorTest, CreatesAndUpdates) {
  verdict r = v_.check(customer("c1"), 1);
  ASSERT_EQ(r.code, errc::ok) << r.message;
  EXPECT_EQ(r.seq, 1u);
  EXPECT_EQ(r.ver, 1u);
  EXPECT_FALSE(r.dup);
  ASSERT_NE(r.def, nullptr);
  EXPECT_EQ(r.def->event, "CUSTOMER_CREATED");
  v_.commit();
  r = v_.check(cmd("customer", "UPDATE_CUSTOMER", "c1", {{"name", "Bea"}}), 2);
  ASSERT_EQ(r.code, errc::ok) << r.message;
  EXPECT_EQ(r.ver, 2u);
  v_.commit();
  EXPECT_EQ(v_.version("customer", "c1"), 2u);
  EXPECT_EQ(v_.version("customer", "c2"), 0u);
  EXPECT_EQ(v_.version("nope", "c1"), 0u);
  EXPECT_EQ(v_.aggregate_count(), 1u);
}

TEST_F(ValidatorTest, EveryErrorCode) {
  ASSERT_EQ(v_.check(customer("c1"), 1).code, errc::ok);
  v_.commit();
  verdict r = v_.check(cmd("invoice", "CREATE_INVOICE", "i1"), 2);
  EXPECT_EQ(r.code, errc::unknown_aggregate);
  EXPECT_NE(r.message.find("invoice"), std::string::npos);
  r = v_.check(cmd("customer", "DELETE_CUSTOMER", "c1"), 2);
  EXPECT_EQ(r.code, errc::unknown_command);
  EXPECT_NE(r.message.find("DELETE_CUSTOMER"), std::string::npos);
  r = v_.check(cmd("customer", "CREATE_CUSTOMER", "c2", {{"name", "A"}}), 2);
  EXPECT_EQ(r.code, errc::bad_request);
  EXPECT_NE(r.message.find("email"), std::string::npos);
  r = v_.check(customer("c1"), 2);
  EXPECT_EQ(r.code, errc::already_exists);
  EXPECT_NE(r.message.find("c1"), std::string::npos);
  r = v_.check(cmd("customer", "UPDATE_CUSTOMER", "c9", {{"name", "N"}}), 2);
  EXPECT_EQ(r.code, errc::not_found);
  r = v_.check(order("o1", "c404"), 2);
  EXPECT_EQ(r.code, errc::not_found);
  EXPECT_NE(r.message.find("customer_id"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("c404"), std::string::npos) << r.message;
  r = v_.check(with_expect(cmd("customer", "UPDATE_CUSTOMER", "c1", {{"name", "N"}}), 5), 2);
  EXPECT_EQ(r.code, errc::version_conflict);
  EXPECT_EQ(r.ver, 1u);  // current version
  r = v_.check(with_expect(customer("c7"), 3), 2);
  EXPECT_EQ(r.code, errc::version_conflict);
  EXPECT_EQ(r.ver, 0u);
  // Nothing of the failures was staged.
  EXPECT_EQ(v_.savepoint(), 0u);
  EXPECT_EQ(v_.version("customer", "c1"), 1u);
  EXPECT_EQ(v_.aggregate_count(), 1u);
}

TEST_F(ValidatorTest, ExpectedVersionMatches) {
  EXPECT_EQ(v_.check(with_expect(customer("c1"), 0), 1).code, errc::ok);
  v_.commit();
  const verdict r =
      v_.check(with_expect(cmd("customer", "UPDATE_CUSTOMER", "c1", {{"name", "N"}}), 1), 2);
  EXPECT_EQ(r.code, errc::ok) << r.message;
  EXPECT_EQ(r.ver, 2u);
}

TEST_F(ValidatorTest, CheckOrderPutsDataBeforeExistence) {
  ASSERT_EQ(v_.check(customer("c1"), 1).code, errc::ok);
  v_.commit();
  // Exists and bad data: the data error wins (bad_request before already_exists).
  EXPECT_EQ(v_.check(cmd("customer", "CREATE_CUSTOMER", "c1", {{"x", 1}}), 2).code,
            errc::bad_request);
  // Missing aggregate and missing ref: not_found for the aggregate first.
  const verdict r = v_.check(cmd("order", "SET_EXCHANGE_RATE", "o9", {{"rate", 1}, {"base", "EUR"}}), 2);
  EXPECT_EQ(r.code, errc::not_found);
  EXPECT_NE(r.message.find("o9"), std::string::npos);
}

TEST_F(ValidatorTest, IdempotencyKeyReturnsTheFirstResult) {
  ASSERT_EQ(v_.check(with_key(customer("c1"), "k1"), 1).code, errc::ok);
  v_.commit();
  // Same key, even with another command: dup with the first seq/ver.
  verdict r = v_.check(with_key(cmd("customer", "UPDATE_CUSTOMER", "c1", {{"name", "B"}}), "k1"), 9);
  EXPECT_EQ(r.code, errc::ok);
  EXPECT_TRUE(r.dup);
  EXPECT_EQ(r.seq, 1u);
  EXPECT_EQ(r.ver, 1u);
  EXPECT_EQ(v_.version("customer", "c1"), 1u);  // nothing staged
  EXPECT_EQ(v_.savepoint(), 0u);
  // A failed command does not record its key.
  EXPECT_EQ(v_.check(with_key(customer("c1"), "k2"), 2).code, errc::already_exists);
  EXPECT_EQ(v_.key_count(), 1u);
  r = v_.check(with_key(customer("c2"), "k2"), 2);
  EXPECT_EQ(r.code, errc::ok);
  EXPECT_FALSE(r.dup);
}

TEST_F(ValidatorTest, StagedChangesAreVisibleWithinABatch) {
  const size_t sp = v_.savepoint();
  ASSERT_EQ(v_.check(customer("c1"), 1).code, errc::ok);
  verdict r = v_.check(order("o1", "c1"), 2);  // refers to the staged customer
  ASSERT_EQ(r.code, errc::ok) << r.message;
  r = v_.check(cmd("customer", "UPDATE_CUSTOMER", "c1", {{"name", "B"}}), 3);
  ASSERT_EQ(r.code, errc::ok);
  EXPECT_EQ(r.ver, 2u);
  ASSERT_EQ(v_.check(with_key(cmd("customer", "UPDATE_CUSTOMER", "c1", {{"name", "C"}}), "k"), 4).code,
            errc::ok);
  r = v_.check(with_key(cmd("customer", "UPDATE_CUSTOMER", "c1", {{"name", "D"}}), "k"), 5);
  EXPECT_TRUE(r.dup);  // a staged key is seen too
  EXPECT_EQ(r.seq, 4u);
  EXPECT_EQ(r.ver, 3u);
  EXPECT_EQ(v_.check(customer("c1"), 6).code, errc::already_exists);
  // Atomic abort: everything since the savepoint is undone.
  v_.rollback_to(sp);
  EXPECT_EQ(v_.version("customer", "c1"), 0u);
  EXPECT_EQ(v_.version("order", "o1"), 0u);
  EXPECT_EQ(v_.key_count(), 0u);
  EXPECT_EQ(v_.aggregate_count(), 0u);
  EXPECT_EQ(v_.check(customer("c1"), 1).code, errc::ok);  // as if nothing happened
}

TEST_F(ValidatorTest, PartialRollbackKeepsEarlierChanges) {
  ASSERT_EQ(v_.check(customer("c1"), 1).code, errc::ok);
  v_.commit();
  ASSERT_EQ(v_.check(with_key(cmd("customer", "UPDATE_CUSTOMER", "c1", {{"name", "B"}}), "a"), 2).code,
            errc::ok);
  const size_t sp = v_.savepoint();
  ASSERT_EQ(v_.check(with_key(cmd("customer", "UPDATE_CUSTOMER", "c1", {{"name", "C"}}), "b"), 3).code,
            errc::ok);
  ASSERT_EQ(v_.check(customer("c2"), 4).code, errc::ok);
  EXPECT_EQ(v_.version("customer", "c1"), 3u);
  v_.rollback_to(sp);  // failed append of the last two
  EXPECT_EQ(v_.version("customer", "c1"), 2u);
  EXPECT_EQ(v_.version("customer", "c2"), 0u);
  EXPECT_EQ(v_.key_count(), 1u);
  v_.commit();
  const verdict r = v_.check(with_key(customer("c3"), "a"), 5);
  EXPECT_TRUE(r.dup);
  EXPECT_EQ(r.seq, 2u);
  EXPECT_EQ(v_.check(with_key(customer("c3"), "b"), 5).dup, false);
}

TEST_F(ValidatorTest, RebuildWithApply) {
  EXPECT_TRUE(v_.apply("customer", "c1", 1, "", 1));
  EXPECT_TRUE(v_.apply("order", "o1", 1, "k-o1", 2));
  EXPECT_TRUE(v_.apply("customer", "c1", 2, "", 3));
  EXPECT_FALSE(v_.apply("invoice", "i1", 1, "", 4));  // schema no longer has it
  EXPECT_EQ(v_.version("customer", "c1"), 2u);
  EXPECT_EQ(v_.version("order", "o1"), 1u);
  EXPECT_EQ(v_.aggregate_count(), 2u);
  EXPECT_EQ(v_.check(customer("c1"), 5).code, errc::already_exists);
  const verdict r = v_.check(with_key(customer("zz"), "k-o1"), 5);
  EXPECT_TRUE(r.dup);
  EXPECT_EQ(r.seq, 2u);
  EXPECT_EQ(r.ver, 1u);
  const verdict u = v_.check(cmd("customer", "UPDATE_CUSTOMER", "c1", {{"name", "x"}}), 5);
  EXPECT_EQ(u.ver, 3u);
}

TEST_F(ValidatorTest, KeyRetentionForgetsTheOldestFirst) {
  validator v(schema::default_schema(), validator_options{.max_keys = 3});
  for (int i = 1; i <= 5; ++i) {
    const std::string id = "c" + std::to_string(i);
    ASSERT_EQ(v.check(with_key(customer(id), "k" + std::to_string(i)), i).code, errc::ok);
    v.commit();
    EXPECT_LE(v.key_count(), 3u);
  }
  EXPECT_FALSE(v.check(with_key(customer("n1"), "k1"), 6).dup);  // forgotten
  v.rollback_to(0);
  EXPECT_FALSE(v.check(with_key(customer("n2"), "k2"), 6).dup);
  v.rollback_to(0);
  EXPECT_TRUE(v.check(with_key(customer("n3"), "k3"), 6).dup);
  EXPECT_TRUE(v.check(with_key(customer("n5"), "k5"), 6).dup);
  // A batch may exceed the bound while staged; commit trims it.
  for (int i = 10; i < 16; ++i) {
    ASSERT_EQ(v.check(with_key(customer("b" + std::to_string(i)), "b" + std::to_string(i)), i).code,
              errc::ok);
  }
  EXPECT_EQ(v.key_count(), 9u);
  v.commit();
  EXPECT_EQ(v.key_count(), 3u);
  EXPECT_TRUE(v.check(with_key(customer("x"), "b15"), 20).dup);
}

TEST_F(ValidatorTest, CheckpointRoundTrip) {
  for (int i = 0; i < 100; ++i) {
    const std::string c = "c" + std::to_string(i);
    ASSERT_EQ(v_.check(with_key(customer(c), "key-" + std::to_string(i)), 2 * i + 1).code, errc::ok);
    ASSERT_EQ(v_.check(order("o" + std::to_string(i), c), 2 * i + 2).code, errc::ok);
  }
  ASSERT_EQ(v_.check(cmd("customer", "UPDATE_CUSTOMER", "c7", {{"name", "n"}}), 201).code, errc::ok);
  v_.commit();
  out_buffer out;
  v_.serialize(out, 201);

  validator w(schema::default_schema());
  uint64_t seq = 0;
  ASSERT_TRUE(w.load(out.span(), seq));
  EXPECT_EQ(seq, 201u);
  EXPECT_EQ(w.aggregate_count(), 200u);
  EXPECT_EQ(w.key_count(), 100u);
  EXPECT_EQ(w.version("customer", "c7"), 2u);
  EXPECT_EQ(w.version("order", "o99"), 1u);
  const verdict r = w.check(with_key(customer("new"), "key-42"), 300);
  EXPECT_TRUE(r.dup);
  EXPECT_EQ(r.seq, 85u);
  // Serializing the loaded state gives a body that loads to the same state.
  out_buffer again;
  w.serialize(again, 201);
  EXPECT_EQ(again.size(), out.size());

  // A smaller retention applies on load, oldest first.
  validator small(schema::default_schema(), validator_options{.max_keys = 10});
  ASSERT_TRUE(small.load(out.span(), seq));
  EXPECT_EQ(small.key_count(), 10u);
  EXPECT_TRUE(small.check(with_key(customer("n"), "key-99"), 300).dup);
  EXPECT_FALSE(small.check(with_key(customer("m"), "key-0"), 301).dup);
}

// A journal written under one schema, indexed under another that lacks
// some of its types: those aggregates and their keys are kept aside, go
// into the checkpoint, and count again once a schema has the type (an
// operator who starts rill once with the wrong --schema loses nothing).
TEST_F(ValidatorTest, TypesTheSchemaLacksSurviveACheckpoint) {
  std::string error;
  auto things =
      schema::parse(R"({"aggregates":{"thing":{"commands":{"MAKE":{"event":"MADE","creates":true},)"
                    R"("POKE":{"event":"POKED"}}}}})",
                    error);
  ASSERT_NE(things, nullptr) << error;
  // Under the default schema: thing/t1 (v2, key k-t) comes from the journal.
  EXPECT_FALSE(v_.apply("thing", "t1", 1, "k-t", 1)) << "not a type of this schema";
  EXPECT_FALSE(v_.apply("thing", "t1", 2, "", 2));
  EXPECT_TRUE(v_.apply("customer", "c1", 1, "k-c", 3));
  EXPECT_EQ(v_.aggregate_count(), 1u);
  EXPECT_EQ(v_.foreign_aggregate_count(), 1u);
  EXPECT_EQ(v_.version("thing", "t1"), 0u) << "never checked against";
  EXPECT_TRUE(v_.check(with_key(customer("c2"), "k-t"), 4).dup)
      << "an idempotency key does not depend on the schema";
  out_buffer out;
  v_.serialize(out, 3);

  // A start under the thing schema from that checkpoint (its own types
  // loaded, the customer kept aside), and back again.
  validator w(*things);
  uint64_t seq = 0;
  ASSERT_TRUE(w.load(out.span(), seq));
  EXPECT_EQ(w.version("thing", "t1"), 2u);
  EXPECT_EQ(w.foreign_aggregate_count(), 1u);
  auto make = [&](std::string_view id) {
    command_request c;
    c.agg = "thing";
    c.cmd = "MAKE";
    c.id = id;
    return c;
  };
  EXPECT_EQ(w.check(make("t1"), 4).code, errc::already_exists);
  ASSERT_EQ(w.check(make("t2"), 4).code, errc::ok);
  w.commit();
  out_buffer out2;
  w.serialize(out2, 4);
  validator back(schema::default_schema());
  ASSERT_TRUE(back.load(out2.span(), seq));
  EXPECT_EQ(seq, 4u);
  EXPECT_EQ(back.version("customer", "c1"), 1u);
  EXPECT_EQ(back.check(customer("c1"), 5).code, errc::already_exists);
  EXPECT_EQ(back.foreign_aggregate_count(), 2u) << "t1 and t2";
}

// The index and key maps keep each entry's hash and grow many times here
// (short ids hashed inline, long ones with XXH3, keys as views into the
// FIFO). Every entry must still be found after the growth, after
// rollbacks of entries staged across a growth, after key eviction and
// after a checkpoint round trip.
// 60,000 aggregates and 40,000 keys: both maps pass the size from which
// they grow in steps (core/incremental_map.h), with staged changes undone
// while they grow.
TEST_F(ValidatorTest, LookupsSurviveGrowthRollbackAndEviction) {
  constexpr size_t kKeys = 40000;
  validator v(schema::default_schema(), validator_options{.max_keys = kKeys});
  auto id = [](int i) {
    return i % 2 == 0
               ? "c" + std::to_string(i)
               : "customer-with-a-long-id-" + std::to_string(i) + "-" + std::string(i % 40, 'x');
  };
  constexpr int n = 60000;
  uint64_t seq = 0;
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(v.check(with_key(customer(id(i)), "key-" + id(i)), ++seq).code, errc::ok) << i;
    if (i % 1000 == 999) {
      // Stage 300 more (the maps grow while they are staged), then undo them.
      const size_t sp = v.savepoint();
      for (int j = 0; j < 300; ++j)
        ASSERT_EQ(
            v.check(with_key(customer("staged-" + std::to_string(i) + "-" + std::to_string(j)),
                             "staged-key-" + std::to_string(j)),
                    seq + 1 + j)
                .code,
            errc::ok);
      v.rollback_to(sp);
    }
    v.commit();
  }
  EXPECT_EQ(v.aggregate_count(), static_cast<size_t>(n));
  EXPECT_EQ(v.key_count(), kKeys);
  EXPECT_EQ(v.version("customer", "staged-999-0"), 0u);
  auto expect_state = [&](validator& w) {
    for (int i = 0; i < n; ++i) ASSERT_EQ(w.version("customer", id(i)), 1u) << i;
    // The last kKeys keys are kept (their retries are dups with the first
    // seq); older ones were forgotten.
    for (int i = n - static_cast<int>(kKeys); i < n; i += 97) {
      const verdict r = w.check(with_key(customer("retry"), "key-" + id(i)), seq + 1);
      ASSERT_TRUE(r.dup) << i;
      EXPECT_EQ(r.seq, static_cast<uint64_t>(i + 1));
    }
    EXPECT_FALSE(w.check(with_key(customer("c0"), "key-" + id(0)), seq + 1).dup);
    EXPECT_EQ(w.check(customer(id(n - 1)), seq + 1).code, errc::already_exists);
    w.rollback_to(0);
  };
  expect_state(v);
  out_buffer out;
  v.serialize(out, seq);
  validator w(schema::default_schema(), validator_options{.max_keys = kKeys});
  uint64_t at = 0;
  ASSERT_TRUE(w.load(out.span(), at));
  EXPECT_EQ(at, seq);
  expect_state(w);
}

TEST_F(ValidatorTest, IdsOf15And16BytesAndUndoneCreatesKeepNoMemory) {
  const std::string s15 = "customer-000015", s16 = "customer-0000016";
  ASSERT_EQ(s15.size(), 15u);
  ASSERT_EQ(s16.size(), 16u);
  ASSERT_EQ(v_.check(customer(s15), 1).code, errc::ok);
  EXPECT_EQ(v_.long_id_bytes(), 0u);  // inline in the index
  ASSERT_EQ(v_.check(customer(s16), 2).code, errc::ok);
  v_.commit();
  const size_t held = v_.long_id_bytes();
  EXPECT_GT(held, 0u);
  EXPECT_EQ(v_.version("customer", s15), 1u);
  EXPECT_EQ(v_.version("customer", s16), 1u);
  EXPECT_EQ(v_.version("customer", s16.substr(0, 15)), 0u);
  // A client that keeps sending atomic batches of new long ids that fail
  // at the end: each abort gives the ids' bytes back.
  for (int round = 0; round < 50; ++round) {
    const size_t sp = v_.savepoint();
    for (int i = 0; i < 2000; ++i) {
      const std::string id =
          "a-long-staged-customer-id-" + std::to_string(round) + "-" + std::to_string(i);
      ASSERT_EQ(v_.check(customer(id), 3 + i).code, errc::ok);
      // Updates of a staged create are undone with it.
      ASSERT_EQ(v_.check(cmd("customer", "UPDATE_CUSTOMER", id, {{"name", "B"}}), 3 + i).code,
                errc::ok);
    }
    EXPECT_EQ(v_.check(customer(s16), 9999).code, errc::already_exists);
    v_.rollback_to(sp);
    strings_.clear();
    datas_.clear();
  }
  EXPECT_EQ(v_.long_id_bytes(), held);
  EXPECT_EQ(v_.aggregate_count(), 2u);
  EXPECT_EQ(v_.version("customer", "a-long-staged-customer-id-0-0"), 0u);
  // Both survive a checkpoint.
  out_buffer out;
  v_.serialize(out, 2);
  validator w(schema::default_schema());
  uint64_t at = 0;
  ASSERT_TRUE(w.load(out.span(), at));
  EXPECT_EQ(w.version("customer", s15), 1u);
  EXPECT_EQ(w.version("customer", s16), 1u);
  EXPECT_EQ(w.long_id_bytes(), held);
}

TEST_F(ValidatorTest, CorruptCheckpointsAreRefusedAndChangeNothing) {
  ASSERT_EQ(v_.check(with_key(customer("c1"), "k"), 1).code, errc::ok);
  v_.commit();
  out_buffer out;
  v_.serialize(out, 1);
  const std::string good(out.view());

  validator w(schema::default_schema());
  ASSERT_EQ(w.check(customer("keep"), 1).code, errc::ok);
  w.commit();
  uint64_t seq = 77;
  for (size_t i = 0; i < good.size(); ++i) {  // every single-byte flip
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    EXPECT_FALSE(w.load({bad.data(), bad.size()}, seq)) << i;
  }
  for (size_t cut = 0; cut < good.size(); ++cut) {  // every truncation
    EXPECT_FALSE(w.load({good.data(), cut}, seq)) << cut;
  }
  EXPECT_FALSE(w.load({}, seq));
  EXPECT_EQ(seq, 77u);
  EXPECT_EQ(w.version("customer", "keep"), 1u);
  EXPECT_EQ(w.version("customer", "c1"), 0u);
}

}  // namespace
}  // namespace rill
