#include "empo/dist/buckets.h"

#include <gtest/gtest.h>

namespace empo::dist {

namespace {

// Every element of every span, in order, as (tensor, element) pairs.
std::vector<std::pair<std::size_t, int64_t>> elements_of(const std::vector<Bucket>& buckets) {
  std::vector<std::pair<std::size_t, int64_t>> elements;
  for (const auto& bucket : buckets)
    for (const auto& piece : bucket.pieces)
      for (int64_t i = 0; i < piece.length; ++i)
        elements.emplace_back(piece.tensor, piece.offset + i);
  return elements;
}

}  // namespace

TEST(Buckets, PacksSmallSpansAndCutsLargeOnes) {
  // Tensors of 3, 10 and 2 elements in buckets of 4.
  auto buckets = plan_buckets({{0, 0, 3, 0}, {1, 0, 10, 0}, {2, 0, 2, 0}}, 4);
  std::vector<int64_t> sizes;
  for (const auto& bucket : buckets) {
    EXPECT_LE(bucket.elements, 4);
    int64_t sum = 0;
    for (const auto& piece : bucket.pieces) sum += piece.length;
    EXPECT_EQ(sum, bucket.elements);
    sizes.push_back(bucket.elements);
  }
  EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4, 4, 3}));
  // Each element exactly once, in order.
  std::vector<std::pair<std::size_t, int64_t>> expected;
  for (int64_t i = 0; i < 3; ++i) expected.emplace_back(0, i);
  for (int64_t i = 0; i < 10; ++i) expected.emplace_back(1, i);
  for (int64_t i = 0; i < 2; ++i) expected.emplace_back(2, i);
  EXPECT_EQ(elements_of(buckets), expected);
}

TEST(Buckets, KeysNeverShareABucketAndEmptySpansVanish) {
  // ZeRO's segments: tensor 1 is split between the owners 0 and 1.
  auto buckets = plan_buckets({{0, 0, 2, 0}, {1, 0, 1, 0}, {1, 1, 0, 1}, {1, 1, 3, 1}}, 8);
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets[0].key, 0);
  EXPECT_EQ(buckets[0].elements, 3);
  EXPECT_EQ(buckets[1].key, 1);
  EXPECT_EQ(buckets[1].elements, 3);
  ASSERT_EQ(buckets[1].pieces.size(), 1u);
  EXPECT_EQ(buckets[1].pieces[0].offset, 1);
  EXPECT_THROW(plan_buckets({{0, 0, 1, 0}}, 0), std::logic_error);
}

}  // namespace empo::dist
