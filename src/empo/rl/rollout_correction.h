#pragma once
// Rollout/trainer mismatch correction. The engine samples with its own kernels (fused CPU ops,
// CUDA graphs, bf16 GEMMs of another batch shape) and from the distribution its sampling
// settings truncate (top-k, top-p, min-p), so the probability it gave a token is not exactly
// the trainer's rollout-policy probability. Each token's loss is weighted by
// w = pi_old / pi_engine: per token, or one weight per sequence (the product over its tokens),
// truncated at the cap or set to 0 above it (TRL's vLLM importance sampling correction).
#include <torch/torch.h>

#include "empo/rl/config.h"

namespace empo::rl {

struct CorrectionSettings {
  ImportanceCorrection mode = ImportanceCorrection::none;
  double cap = 3.0;
};

CorrectionSettings correction_settings(const TrainConfig& config);

// Sums over a micro-batch's masked tokens, in this order, for the step's metrics.
enum CorrectionStatistic {
  kAbsLogprobDifference,  // |log pi_old - log pi_engine|
  kCappedUnits,           // tokens (sequences for the sequence modes) truncated or masked
  kCorrectionUnits,       // tokens (sequences) that count
  kCorrectionStatistics
};

struct Correction {
  at::Tensor weights;     // (N, K) no grad; undefined when the mode is none
  at::Tensor statistics;  // (kCorrectionStatistics) float64
};

// old_logprobs, engine_logprobs, mask: (N, K), mask 1 on tokens that count.
Correction rollout_correction(const at::Tensor& old_logprobs, const at::Tensor& engine_logprobs,
                              const at::Tensor& mask, const CorrectionSettings& settings);

}  // namespace empo::rl
