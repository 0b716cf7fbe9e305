#include "empo/rl/advantage.h"

#include <gtest/gtest.h>

#include <cmath>

namespace empo::rl {

TEST(Advantages, GroupNormalisedByHand) {
  // Group 1: rewards 3/4, 3/4, 3/4, 1/4 (mean 5/8, unbiased std 1/4); group 2 all equal.
  std::vector<double> rewards = {0.75, 0.75, 0.75, 0.25, 0.5, 0.5, 0.5, 0.5};
  auto result = compute_advantages(rewards, 4, ScaleRewards::group);
  EXPECT_NEAR(result.values[0], 0.125 / (0.25 + 1e-4), 1e-12);
  EXPECT_NEAR(result.values[3], -0.375 / (0.25 + 1e-4), 1e-12);
  EXPECT_EQ(result.values[5], 0.0);
  EXPECT_EQ(result.zero_std_groups, (std::vector<bool>{false, true}));
}

TEST(Advantages, BatchAndNoScaling) {
  std::vector<double> rewards = {1, 0, 0, 0};
  auto none = compute_advantages(rewards, 2, ScaleRewards::none);
  EXPECT_EQ(none.values, (std::vector<double>{0.5, -0.5, 0, 0}));
  auto batch = compute_advantages(rewards, 2, ScaleRewards::batch);
  // batch std of {1,0,0,0}: sqrt(0.75/3) = 0.5
  EXPECT_NEAR(batch.values[0], 0.5 / (0.5 + 1e-4), 1e-12);
  EXPECT_EQ(unbiased_std(rewards.data(), 1), 0.0);
}

}  // namespace empo::rl

namespace empo::rl {

TEST(Advantages, PooledStdDividesByNMinusOne) {
  // scale_rewards = batch reduces sums over processes and divides by this std: for (0, 1, 1, 0)
  // the unbiased std is sqrt(1 / 3), the biased one 0.5.
  EXPECT_NEAR(pooled_std(2.0, 2.0, 4.0), std::sqrt(1.0 / 3.0), 1e-12);
  const double values[] = {0.0, 1.0, 1.0, 0.0};
  EXPECT_NEAR(pooled_std(2.0, 2.0, 4.0), unbiased_std(values, 4), 1e-12);
  EXPECT_EQ(pooled_std(1.0, 1.0, 1.0), 0.0);
}

}  // namespace empo::rl
