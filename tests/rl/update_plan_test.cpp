#include "empo/rl/update_plan.h"

#include <gtest/gtest.h>

#include <random>

namespace empo::rl {

TEST(UpdatePlan, FewerGroupsThanStepsNeverRunPastTheEnd) {
  // 9 kept groups over 8 steps (the case): ceil(9/8) = 2 groups a step would start
  // step 5 past the samples; spread evenly, one step gets 2 and the others 1.
  auto plan = plan_updates(9, {4, 8, 1, 0});
  ASSERT_EQ(plan.size(), 8u);
  std::size_t total = 0;
  for (const auto& step : plan) {
    EXPECT_LE(step.first, step.last);
    EXPECT_LE(step.last, 9u * 4);
    EXPECT_GE(step.samples(), 4u);
    EXPECT_LE(step.samples(), 8u);
    total += step.samples();
  }
  EXPECT_EQ(total, 36u);
}

TEST(UpdatePlan, NoGroupsGivesEmptySteps) {
  auto plan = plan_updates(0, {8, 3, 2, 4});
  ASSERT_EQ(plan.size(), 3u);
  for (const auto& step : plan) {
    EXPECT_EQ(step.samples(), 0u);
    EXPECT_TRUE(step.micro_batches.empty());
  }
}

TEST(UpdatePlan, FullStepsHaveEqualChunksAndMicroBatches) {
  // 2 steps x 2 chunks x 2 groups of G = 4, micro-batches of 3 samples.
  auto plan = plan_updates(8, {4, 2, 2, 3});
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[1].first, 16u);
  EXPECT_EQ(plan[1].chunk_samples, (std::vector<std::size_t>{8, 8}));
  // A chunk of 8 cuts into 3 + 3 + 2; micro-batches never straddle a chunk.
  ASSERT_EQ(plan[0].micro_batches.size(), 6u);
  EXPECT_EQ(plan[0].micro_batches[2].last, 8u);
  EXPECT_EQ(plan[0].micro_batches[3].first, 8u);
  EXPECT_EQ(plan[0].micro_batches[3].chunk, 1u);
}

TEST(UpdatePlan, PropertiesHoldForRandomCounts) {
  std::mt19937_64 engine(7);
  for (int trial = 0; trial < 2000; ++trial) {
    const std::size_t groups = engine() % 70;
    UpdatePlanSettings settings{1 + engine() % 16, 1 + engine() % 9, 1 + engine() % 5,
                                engine() % 11};
    auto plan = plan_updates(groups, settings);
    ASSERT_EQ(plan.size(), settings.steps);
    const std::size_t G = settings.group_size;
    std::size_t next = 0, smallest = SIZE_MAX, largest = 0;
    for (const auto& step : plan) {
      // Steps tile the samples in order, in whole groups.
      ASSERT_EQ(step.first, next);
      ASSERT_LE(step.first, step.last);
      ASSERT_EQ(step.samples() % G, 0u);
      smallest = std::min(smallest, step.samples());
      largest = std::max(largest, step.samples());
      ASSERT_EQ(step.chunk_samples.size(), settings.chunks);
      std::size_t chunk_total = 0, chunk_small = SIZE_MAX, chunk_large = 0;
      for (auto samples : step.chunk_samples) {
        ASSERT_EQ(samples % G, 0u);
        chunk_total += samples;
        chunk_small = std::min(chunk_small, samples);
        chunk_large = std::max(chunk_large, samples);
      }
      ASSERT_EQ(chunk_total, step.samples());
      ASSERT_LE(chunk_large - chunk_small, G);  // chunks differ by at most one group
      // Micro-batches tile the step in order, each inside one chunk and within the size.
      std::size_t cursor = step.first, chunk = 0, chunk_end = step.first;
      std::vector<std::size_t> seen(settings.chunks, 0);
      for (const auto& micro : step.micro_batches) {
        ASSERT_EQ(micro.first, cursor);
        ASSERT_LT(micro.first, micro.last);
        if (settings.micro_batch_size > 0) {
          ASSERT_LE(micro.last - micro.first, settings.micro_batch_size);
        }
        ASSERT_GE(micro.chunk, chunk);
        chunk = micro.chunk;
        seen[micro.chunk] += micro.last - micro.first;
        cursor = micro.last;
        chunk_end = std::max(chunk_end, micro.last);
      }
      ASSERT_EQ(cursor, step.last);
      ASSERT_EQ(seen, step.chunk_samples);
      next = step.last;
    }
    ASSERT_EQ(next, groups * G);       // every sample is used exactly once
    ASSERT_LE(largest - smallest, G);  // steps differ by at most one group
  }
}

}  // namespace empo::rl
