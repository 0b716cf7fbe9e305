#pragma once
// Per-rank memory of a training run, predicted from config.json and the training config alone:
// nothing is loaded or allocated, so `empo plan` answers for a 7B CUDA recipe on a laptop. The
// trainer sizes its rollout batches with the same KV-cache arithmetic (rollout_prompts_per_batch),
// so the plan's kv_cache term is the engine's own budget, not a guess beside it.
//
// This file is torch-free: byte counts come from the architecture, the dtype and the config.
#include <cstdint>
#include <optional>
#include <string>

#include "empo/model/config.h"
#include "empo/rl/config.h"

namespace empo::rl {

// Where the run is planned for. gpu: bf16 compute (unless the config says float32) and a device
// memory to fit into; CPU: float32, host memory.
struct PlanTarget {
  bool gpu = false;
  int nproc = 1;                    // ranks sharing the global batch (zero_stage shards over them)
  int64_t device_memory_bytes = 0;  // per rank; 0: unknown (the run is not checked for fit)
  bool fused_attention = false;     // libtorch 2.x: sdpa keeps O(T) per head, not O(T^2)
};

// The training config resolved for a target: dtype bytes and whether scores are materialised.
struct PlanShape {
  int64_t dtype_bytes = 4;
  bool materialised_scores = true;  // eager attention, or sdpa on 1.13 (its math path)
  int64_t micro_batch_sequences = 1;
  int64_t sequence_tokens = 1;  // max_prompt_length + max_completion_length
};
PlanShape plan_shape(const TrainConfig& config, const PlanTarget& target);

// Parameters of a decoder (embeddings, every projection and norm; lm_head unless tied).
int64_t parameter_count(const model::ModelConfig& model);

// Keys and values of one row (one sample) across all layers, per cached token.
int64_t kv_bytes_per_token(const model::ModelConfig& model, int64_t dtype_bytes);

// Bytes saved for backward by one micro-batch, with and without gradient_checkpointing.
int64_t activation_bytes(const model::ModelConfig& model, const PlanShape& shape,
                         bool gradient_checkpointing);

// Keys/values of one prompt and its G completions at full length: the prompt is stored once
// and read by all its samples.
int64_t prompt_kv_bytes(const model::ModelConfig& model, const TrainConfig& config,
                        int64_t dtype_bytes, int64_t prompt_tokens);

// Prompts whose samples the rollout engine holds at once: all of the rollout batch when their
// keys/values fit in budget_bytes (or budget_bytes <= 0: no budget known), else as many as fit,
// at least 1. The engine admits rows by the same budget (GenerationConfig::kv_budget_bytes).
int64_t rollout_prompts_per_batch(const model::ModelConfig& model, const TrainConfig& config,
                                  int64_t dtype_bytes, int64_t prompt_tokens, int64_t budget_bytes);

struct MemoryPlan {
  int64_t micro_batch_sequences = 0;  // per forward/backward: the config's, or on a GPU with
                                      // micro_batch_size 0 the most that fit (auto_micro_batch)
  bool micro_batch_from_budget = false;
  int64_t parameters = 0;            // of the policy
  int64_t trainable_parameters = 0;  // all of them, or the LoRA adapters' (lora_r > 0)
  int64_t weights = 0;            // policy + reference (beta > 0 or guard_max_kl) + judge, per rank
  int64_t gradients = 0;          // .grad in the parameter dtype + float32 accumulation sums (bf16)
                                  // + collective_buffer
  int64_t collective_buffer = 0;  // the gradient collectives' staging bucket (several ranks)
  int64_t optimizer = 0;          // AdamW moments (+ float32 master weights of bf16 parameters)
  int64_t activations = 0;        // the config's choice of gradient_checkpointing, + head_gradient
  int64_t head_gradient = 0;      // lm_head's (V, C) gradient in backward; 0 when frozen (LoRA)
  int64_t activations_without_checkpointing = 0;
  int64_t activations_with_checkpointing = 0;
  int64_t kv_cache = 0;           // what the engine holds: all rows, or its budget's worth
  int64_t kv_cache_all_rows = 0;  // every row of the rollout batch at once
  int64_t rollout_prompts_per_batch = 0;
  int64_t runtime = 0;  // libraries, allocator slack, the CUDA context
  // The peak: weights, optimizer and gradients stay resident; the rollout's keys/values and the
  // update's activations come one after the other.
  int64_t total = 0;
  bool fits = true;  // total <= device memory (true when none was given)
};

MemoryPlan plan_memory(const TrainConfig& config, const model::ModelConfig& policy,
                       const std::optional<model::ModelConfig>& judge, const PlanTarget& target);

// micro_batch_size 0 means "all of a chunk at once", which at 7B and 3.5k tokens would need
// ~90 GB of activations. On a GPU the update instead takes the most sequences per
// forward/backward whose activations (and the head's gradient) fit in `budget_bytes`, at least
// 1, at most a chunk. The trainer calls it with the device's free memory less the gradients it
// will hold; plan_memory with what the device's memory leaves after the resident state.
int64_t auto_micro_batch(const TrainConfig& config, const model::ModelConfig& policy,
                         const PlanTarget& target, int64_t budget_bytes);

// The plan as a table (human) or JSON {"per_rank_bytes": {...}, ...}.
std::string plan_report(const MemoryPlan& plan, const PlanTarget& target);
std::string plan_json(const MemoryPlan& plan, const PlanTarget& target);

}  // namespace empo::rl
