#include "daemons/rill_core/checkpoint_policy.h"

#include <gtest/gtest.h>

namespace rill::daemon {
namespace {

using namespace std::chrono_literals;

checkpoint_policy::clock::time_point fake_now;
checkpoint_policy::clock::time_point now() {
  return fake_now;
}

TEST(CheckpointPolicy, CountFirstThenNoSoonerThanTheInterval) {
  fake_now = checkpoint_policy::clock::time_point{} + 1h;
  checkpoint_policy p(100, 10s, &now);
  EXPECT_FALSE(p.due(99, 0));
  EXPECT_TRUE(p.due(100, 0));  // the first one waits for the count only
  p.started();
  EXPECT_FALSE(p.due(150, 100));
  EXPECT_FALSE(p.due(100'000, 100)) << "the count is reached, the interval is not";
  fake_now += 9s;
  EXPECT_FALSE(p.due(100'000, 100));
  fake_now += 1s;
  EXPECT_TRUE(p.due(100'000, 100));
  EXPECT_FALSE(p.due(199, 100)) << "the interval is over, the count is not";
  p.started();
  fake_now += 1h;
  EXPECT_TRUE(p.due(100'100, 100'000));
}

TEST(CheckpointPolicy, ZeroMeansNeverOrNoTimeLimit) {
  fake_now = checkpoint_policy::clock::time_point{} + 1h;
  checkpoint_policy never(0, 0s, &now);
  EXPECT_FALSE(never.due(1'000'000'000, 0));
  checkpoint_policy count_only(10, 0s, &now);
  count_only.started();
  EXPECT_TRUE(count_only.due(20, 10));
  EXPECT_FALSE(count_only.due(19, 10));
}

}  // namespace
}  // namespace rill::daemon
