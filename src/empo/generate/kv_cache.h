#pragma once
// The rollout engine's use of the model's KVState: sized once for the batch, the prompt's
// keys/values copied once into its G samples, finished rows dropped by compaction.
#include <torch/torch.h>

#include "empo/model/transformer.h"

namespace empo::generate {

// Keeps rows `rows` (int64 indices) of every layer's cache, in that order: used both to
// expand P prompts into P x G samples (repeat_interleave indices) and to drop finished rows.
void select_rows(model::KVState& kv, const at::Tensor& rows);

}  // namespace empo::generate
