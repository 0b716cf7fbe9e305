#include "empo/generate/scheduler.h"

#include <gtest/gtest.h>

namespace empo::generate {

TEST(RolloutScheduler, AdmitsUpToTheRowLimitAndSharesPromptBlocks) {
  BlockAllocator allocator(64, 4);
  RolloutScheduler scheduler({6, 3}, /*samples_per_prompt=*/3, /*max_rows=*/4, allocator);
  auto cached = scheduler.admit(/*lookahead=*/1);
  EXPECT_EQ(cached, (std::vector<int64_t>{0, 1}));  // prompt 0's 3 samples, then one of prompt 1
  ASSERT_EQ(scheduler.rows().size(), 4u);
  EXPECT_EQ(scheduler.rows()[3].job.prompt, 1);
  EXPECT_EQ(scheduler.prompt_blocks(0).size(), 2u);
  // Prompt blocks once per prompt, one own block per row.
  EXPECT_EQ(allocator.used_blocks(), 2 + 1 + 4);
  EXPECT_EQ(scheduler.blocks(scheduler.rows()[0]).prompt_blocks,
            scheduler.blocks(scheduler.rows()[2]).prompt_blocks);
  // A finished row's place goes to the next job; prompt 0's blocks go with its last sample.
  for (int i = 0; i < 3; ++i) scheduler.finish_row(0);
  EXPECT_TRUE(scheduler.prompt_blocks(0).empty());
  EXPECT_TRUE(scheduler.admit(1).empty());  // prompt 1 is cached already
  EXPECT_EQ(scheduler.rows().size(), 3u);
  while (!scheduler.rows().empty()) scheduler.finish_row(0);
  EXPECT_TRUE(scheduler.done());
  EXPECT_EQ(allocator.used_blocks(), 0);
}

TEST(RolloutScheduler, AdmitsOnlyWhatThePoolHoldsAndPreemptsTheNewestRow) {
  BlockAllocator allocator(8, 4);  // 7 usable blocks
  RolloutScheduler scheduler({4}, 4, 4, allocator);
  scheduler.admit(4);  // prompt 1 block; each row 1 block plus a block of headroom per row
  ASSERT_EQ(scheduler.rows().size(), 3u);
  EXPECT_EQ(allocator.free_blocks(), 7 - 1 - 3);
  for (auto& row : scheduler.rows()) row.generated = 4;
  // Three rows each need a second block; only three are free, so nobody is preempted yet.
  EXPECT_EQ(scheduler.reserve(4), 0);
  for (auto& row : scheduler.rows()) row.generated = 8;
  // Now each needs a third: the newest rows give theirs up and go back to the queue.
  EXPECT_EQ(scheduler.reserve(4), 1);
  ASSERT_EQ(scheduler.rows().size(), 2u);
  EXPECT_EQ(scheduler.rows()[0].id, 0);
  EXPECT_EQ(scheduler.rows()[1].id, 1);
  EXPECT_EQ(scheduler.preemptions(), 1);
  scheduler.finish_row(0);
  scheduler.finish_row(0);
  // The preempted job comes back first, as a new row that starts over.
  scheduler.admit(4);
  ASSERT_FALSE(scheduler.rows().empty());
  EXPECT_EQ(scheduler.rows()[0].job.sample, 2);
  EXPECT_EQ(scheduler.rows()[0].generated, 0);
}

}  // namespace empo::generate
