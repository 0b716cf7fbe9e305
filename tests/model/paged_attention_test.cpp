#include "empo/model/paged_attention.h"

#include <gtest/gtest.h>

#include <limits>

namespace empo::model {

// Against softmax(q k^T / sqrt(D)) v over each row's slots gathered by hand, with the slots
// a query may not see (empty, or past its position) masked out.
TEST(PagedAttention, MatchesAttentionOverTheGatheredSlots) {
  at::manual_seed(5);
  const int64_t B = 3, H = 4, Hkv = 2, T = 2, D = 12, block_size = 4, nb = 3, pool_blocks = 10;
  auto q = at::randn({B, T, H, D});
  auto keys = at::randn({Hkv, pool_blocks, block_size, D});
  auto values = at::randn({Hkv, pool_blocks, block_size, D});
  auto blocks = at::tensor({7, 2, 9, 1, 4, 0, 3, 8, 5}, at::kLong).view({B, nb});
  // Row 1 has two blocks (the third is padding); row 2's first block is half empty.
  auto key_positions = at::arange(nb * block_size, at::kLong).repeat({B, 1});
  key_positions[1].narrow(0, 8, 4).fill_(-1);
  key_positions[2].narrow(0, 2, 2).fill_(-1);
  auto positions = at::tensor({10, 11, 5, 6, 9, 10}, at::kLong).view({B, T});
  auto out = paged_attention(q, keys, values, blocks, key_positions, positions);
  ASSERT_EQ(out.sizes(), q.sizes());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t head = 0; head < H; ++head)
      for (int64_t t = 0; t < T; ++t) {
        const int64_t h = head / (H / Hkv);
        auto k = keys[h].index_select(0, blocks[b]).reshape({-1, D});    // (S, D)
        auto v = values[h].index_select(0, blocks[b]).reshape({-1, D});  // (S, D)
        auto scores = at::mv(k, q[b][t][head]) / std::sqrt(static_cast<double>(D));
        auto visible = (key_positions[b] >= 0) & (key_positions[b] <= positions[b][t]);
        scores = scores.masked_fill(visible.logical_not(), -std::numeric_limits<float>::infinity());
        auto expected = at::mv(v.t(), at::softmax(scores, 0));
        EXPECT_LE((out[b][t][head] - expected).abs().max().item<double>(), 1e-5)
            << b << " " << head << " " << t;
      }
}

TEST(PagedAttention, ReadsInPlaceOnlyContiguousFloat32CpuPools) {
  EXPECT_TRUE(paged_attention_reads_in_place(at::zeros({2, 3, 4, 8})));
  EXPECT_FALSE(paged_attention_reads_in_place(at::zeros({2, 3, 4, 8}, at::kBFloat16)));
  EXPECT_FALSE(paged_attention_reads_in_place(at::zeros({3, 2, 4, 8}).transpose(0, 1)));
}

}  // namespace empo::model
