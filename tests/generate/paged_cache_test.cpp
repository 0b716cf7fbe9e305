#include "empo/generate/paged_cache.h"

#include <gtest/gtest.h>

namespace empo::generate {

TEST(BlockAllocator, HandsOutTheLowestFreeBlocksAndNeverTheScratchBlock) {
  BlockAllocator allocator(5, 4);  // blocks 1..4 usable
  EXPECT_EQ(allocator.free_blocks(), 4);
  EXPECT_EQ(allocator.blocks_for(0), 0);
  EXPECT_EQ(allocator.blocks_for(9), 3);
  std::vector<int64_t> a, b;
  ASSERT_TRUE(allocator.allocate(3, a));
  EXPECT_EQ(a, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_FALSE(allocator.allocate(2, b));  // all or nothing
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(allocator.free_blocks(), 1);
  std::vector<int64_t> middle{a[1]};
  allocator.release(middle);
  EXPECT_TRUE(middle.empty());
  ASSERT_TRUE(allocator.allocate(2, b));
  EXPECT_EQ(b, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(allocator.peak_used_blocks(), 4);
  allocator.release(b);
  EXPECT_EQ(allocator.used_blocks(), 2);  // a's blocks 1 and 3 (a still names 2: released)
  EXPECT_THROW(BlockAllocator(1, 4), std::logic_error);
}

TEST(SequenceBlocks, PromptPositionsInSharedBlocksTheRestInOwnBlocks) {
  const std::vector<int64_t> prompt{7, 3};  // a 6-token prompt: block 3 is half empty
  const std::vector<int64_t> own{5, 9};
  SequenceBlocks sequence{&prompt, 6, &own};
  EXPECT_EQ(sequence.slot(0, 4), 28);
  EXPECT_EQ(sequence.slot(5, 4), 13);
  EXPECT_EQ(sequence.slot(6, 4), 20);  // the first completion token opens the own block
  EXPECT_EQ(sequence.slot(10, 4), 36);
  EXPECT_EQ(sequence.capacity(4), 14);
  EXPECT_THROW(sequence.slot(14, 4), std::logic_error);
}

}  // namespace empo::generate
