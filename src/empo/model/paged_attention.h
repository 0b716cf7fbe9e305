#pragma once
// Decode attention that reads a paged KV pool in place (no gather of each row's blocks), for
// float32 on CPU: per (row, key/value head), scores of the group's queries against the row's
// slots, a softmax over the visible ones, and their weighted values.
#include <torch/torch.h>

namespace empo::model {

// Whether paged_attention should read this pool for queries of `heads` heads: float32, CPU,
// contiguous, and one query head per key/value head. With grouped heads each key is re-read per
// query head, and gathering the blocks for a batched matmul measured faster (rollout_bench, 39M
// case: 13%); without them reading in place was about 2x faster (demo case).
bool paged_attention_reads_in_place(const at::Tensor& pool_keys, int64_t heads);

// q (B, H, T, D); pool_keys, pool_values (Hkv, num_blocks, block_size, D); read_blocks (B, nb)
// int64; key_positions (B, nb * block_size) int64, -1 for an empty slot; position_ids (B, T).
// A query at position p sees the slots whose position is in [0, p]. Returns (B, H, T, D).
at::Tensor paged_attention(const at::Tensor& q, const at::Tensor& pool_keys,
                           const at::Tensor& pool_values, const at::Tensor& read_blocks,
                           const at::Tensor& key_positions, const at::Tensor& position_ids);

}  // namespace empo::model
