#include "empo/rl/rollout_correction.h"

namespace empo::rl {

CorrectionSettings correction_settings(const TrainConfig& config) {
  return {config.rollout_importance_correction, config.rollout_importance_cap};
}

Correction rollout_correction(const at::Tensor& old_logprobs, const at::Tensor& engine_logprobs,
                              const at::Tensor& mask, const CorrectionSettings& settings) {
  at::NoGradGuard no_grad;
  auto log_ratio = (old_logprobs.detach() - engine_logprobs) * mask;  // (N, K)
  const bool per_sequence = settings.mode == ImportanceCorrection::sequence_truncate ||
                            settings.mode == ImportanceCorrection::sequence_mask;
  // Units are tokens, or sequences that have a token that counts.
  auto ratio = per_sequence ? log_ratio.sum(1, /*keepdim=*/true).exp() : log_ratio.exp();
  auto units = per_sequence ? (mask.sum(1, /*keepdim=*/true) > 0).to(mask.scalar_type()) : mask;
  auto capped = (ratio > settings.cap).to(mask.scalar_type()) * units;
  Correction correction;
  correction.statistics =
      at::stack({log_ratio.abs().sum(), capped.sum(), units.sum()}).to(at::kDouble);
  switch (settings.mode) {
    case ImportanceCorrection::none:
      return correction;
    case ImportanceCorrection::token_truncate:
    case ImportanceCorrection::sequence_truncate:
      correction.weights = ratio.clamp_max(settings.cap);
      break;
    case ImportanceCorrection::token_mask:
    case ImportanceCorrection::sequence_mask:
      correction.weights = ratio * (1.0 - capped);
      break;
  }
  correction.weights = correction.weights.expand_as(mask);
  return correction;
}

}  // namespace empo::rl
