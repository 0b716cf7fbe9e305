#pragma once
// Decode attention that reads a paged KV pool in place (no gather of each row's blocks), for
// float32 on CPU: per (row, key/value head), scores of the group's queries against the row's
// slots, a softmax over the visible ones, and their weighted values. Each key and value is read
// once for all query heads of its group.
#include <ATen/ATen.h>

namespace empo::model {

// Whether paged_attention can read this pool: float32, CPU, contiguous.
bool paged_attention_reads_in_place(const at::Tensor& pool_keys);

// q (B, T, H, D), the projection's layout; pool_keys, pool_values (Hkv, num_blocks, block_size,
// D); read_blocks (B, nb) int64; key_positions (B, nb * block_size) int64, -1 for an empty slot;
// position_ids (B, T). A query at position p sees the slots whose position is in [0, p].
// Returns (B, T, H, D).
at::Tensor paged_attention(const at::Tensor& q, const at::Tensor& pool_keys,
                           const at::Tensor& pool_values, const at::Tensor& read_blocks,
                           const at::Tensor& key_positions, const at::Tensor& position_ids);

}  // namespace empo::model
