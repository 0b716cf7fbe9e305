#pragma once
// The clipped policy-gradient loss of the GRPO family (EMPO.md, "Policy loss and its knobs"):
// per token -w min(rho A, clip(rho, 1 - epsilon, 1 + epsilon_high) A) + beta k3 (w: the rollout
// correction's importance weight, rollout_correction.h), aggregated by
// loss_type. Normalisers are passed in for the whole optimizer step, so splitting the batch
// into micro-batches changes memory, never the gradient.
#include <torch/torch.h>

#include <vector>

#include "empo/rl/config.h"

namespace empo::rl {

struct PolicyLossInputs {
  at::Tensor logprobs;      // (N, K) current policy, with grad
  at::Tensor old_logprobs;  // (N, K) the policy that sampled (no grad)
  at::Tensor ref_logprobs;  // (N, K) frozen reference; undefined when no KL is wanted
  at::Tensor advantages;    // (N)
  at::Tensor mask;          // (N, K) float: 1 on completion tokens that count
  // (N, K) no grad: the rollout correction's weight of each token's surrogate (KL unweighted);
  // undefined: 1.
  at::Tensor importance_weights;
};

struct LossNormalizers {
  double sequences = 1;  // sequences in the step (grpo, gspo, dr_grpo)
  double tokens = 1;     // masked tokens in the step (dapo) or in this rollout batch (bnpo)
  double max_completion_length = 1;  // dr_grpo
};

struct LossSettings {
  LossType type = LossType::grpo;
  double epsilon = 0.2;
  double epsilon_high = 0.2;
  double beta = 0.0;
};

// Sums over a micro-batch, kept on the device (one host read per optimizer step), in the
// order of LossStatistic: clipped_low and clipped_high count what clip_counted counts, masked
// tokens (sequences for gspo, whose ratio is per sequence); kl_sum and counted are over masked
// tokens.
enum LossStatistic { kClippedLow, kClippedHigh, kClipCounted, kKlSum, kCounted, kLossStatistics };

struct PolicyLossResult {
  at::Tensor loss;        // scalar; this micro-batch's share of the step's loss
  at::Tensor statistics;  // (kLossStatistics) float64, no grad
};

// The statistics on the host, e.g. values[kClippedLow].
std::vector<double> read_statistics(const at::Tensor& statistics);

PolicyLossResult policy_loss(const PolicyLossInputs& inputs, const LossSettings& settings,
                             const LossNormalizers& normalizers);

}  // namespace empo::rl
