#include "empo/rl/policy_loss.h"

namespace empo::rl {

namespace {

// -min(rho A, clip(rho) A) elementwise; rho and A broadcast together.
at::Tensor clipped_surrogate(const at::Tensor& ratio, const at::Tensor& advantages,
                             const LossSettings& settings) {
  auto clipped = ratio.clamp(1.0 - settings.epsilon, 1.0 + settings.epsilon_high);
  return -at::min(ratio * advantages, clipped * advantages);
}

}  // namespace

std::vector<double> read_statistics(const at::Tensor& statistics) {
  auto host = statistics.to(at::kCPU, at::kDouble).contiguous();
  return std::vector<double>(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
}

PolicyLossResult policy_loss(const PolicyLossInputs& inputs, const LossSettings& settings,
                             const LossNormalizers& normalizers) {
  const auto& mask = inputs.mask;                          // (N, K)
  auto advantages = inputs.advantages.unsqueeze(1);        // (N, 1)
  auto log_ratio = inputs.logprobs - inputs.old_logprobs;  // (N, K)
  auto lengths = mask.sum(1).clamp_min(1.0);               // (N)
  at::Tensor ratio;                                        // (N, K) or (N, 1)
  if (settings.type == LossType::gspo) {
    // Sequence-level importance ratio: exp of the mean token log-ratio.
    ratio = ((log_ratio * mask).sum(1) / lengths).exp().unsqueeze(1);
  } else {
    ratio = log_ratio.exp();
  }
  auto per_token = clipped_surrogate(ratio, advantages, settings).expand_as(mask);  // (N, K)
  if (inputs.importance_weights.defined()) per_token = per_token * inputs.importance_weights;
  at::Tensor kl;
  if (inputs.ref_logprobs.defined()) {
    auto delta = inputs.ref_logprobs - inputs.logprobs;
    kl = delta.exp() - delta - 1.0;  // k3 estimator, >= 0
    if (settings.beta > 0.0) per_token = per_token + settings.beta * kl;
  }
  at::Tensor loss;
  switch (settings.type) {
    case LossType::grpo:
    case LossType::gspo:
      loss = ((per_token * mask).sum(1) / lengths).sum() / normalizers.sequences;
      break;
    case LossType::dapo:
    case LossType::bnpo:
      loss = (per_token * mask).sum() / normalizers.tokens;
      break;
    case LossType::dr_grpo:
      loss = (per_token * mask).sum() / (normalizers.sequences * normalizers.max_completion_length);
      break;
  }
  PolicyLossResult result;
  result.loss = loss;
  at::NoGradGuard no_grad;
  // A gspo ratio is one per sequence: clipping is counted over the sequences that have tokens.
  const bool per_sequence = settings.type == LossType::gspo;
  auto clip_weight =  // (N, 1) for gspo, else (N, K)
      per_sequence ? (mask.sum(1, /*keepdim=*/true) > 0).to(mask.scalar_type()) : mask;
  auto ratio_units = ratio.detach().expand_as(clip_weight);
  auto low = ((ratio_units < 1.0 - settings.epsilon) & (advantages < 0)).to(mask.scalar_type());
  auto high =
      ((ratio_units > 1.0 + settings.epsilon_high) & (advantages > 0)).to(mask.scalar_type());
  auto kl_sum = kl.defined() ? (kl.detach() * mask).sum() : at::zeros({}, mask.options());
  result.statistics = at::stack({(low * clip_weight).sum(), (high * clip_weight).sum(),
                                 clip_weight.sum(), kl_sum, mask.sum()})
                          .to(at::kDouble);
  return result;
}

}  // namespace empo::rl
