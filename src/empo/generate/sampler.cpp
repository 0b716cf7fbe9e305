#include "empo/generate/sampler.h"

#include <limits>

namespace empo::generate {

uint64_t mix_seed(uint64_t a, uint64_t b) {
  // splitmix64 finaliser over a combination of both inputs.
  uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

SequenceRng::SequenceRng(uint64_t seed, uint64_t prompt, uint64_t sample)
    : engine_(mix_seed(mix_seed(seed, prompt), sample)) {}

double SequenceRng::uniform() {
  return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
}

at::Tensor sampling_logprobs(const at::Tensor& logits, const SamplingParams& params) {
  const float negative_infinity = -std::numeric_limits<float>::infinity();
  auto scaled = logits.to(at::kFloat);
  if (!params.is_greedy() && params.temperature != 1.0) scaled = scaled / params.temperature;
  const int64_t V = scaled.size(-1);
  if (params.top_k > 0 && params.top_k < V) {
    auto kth =
        std::get<0>(scaled.topk(params.top_k, -1)).select(-1, params.top_k - 1).unsqueeze(-1);
    scaled = scaled.masked_fill(scaled < kth, negative_infinity);
  }
  auto log_p = at::log_softmax(scaled, -1);
  if (params.min_p > 0.0) {
    auto threshold = std::get<0>(log_p.max(-1, true)) + std::log(params.min_p);
    scaled = scaled.masked_fill(log_p < threshold, negative_infinity);
    log_p = at::log_softmax(scaled, -1);
  }
  if (params.top_p < 1.0) {
    // Keep the smallest prefix of tokens (by descending p) whose mass reaches top_p; a token
    // is dropped when the mass before it already reaches top_p.
    auto [sorted, order] = log_p.sort(-1, /*descending=*/true);
    auto mass_before = sorted.exp().cumsum(-1) - sorted.exp();
    auto drop_sorted = mass_before >= params.top_p;
    auto drop = at::zeros_like(drop_sorted).scatter(-1, order, drop_sorted);
    scaled = scaled.masked_fill(drop, negative_infinity);
    log_p = at::log_softmax(scaled, -1);
  }
  return log_p;
}

SampledTokens sample_tokens(const at::Tensor& logits, const SamplingParams& params,
                            std::vector<SequenceRng*>& rngs) {
  at::NoGradGuard no_grad;
  const int64_t B = logits.size(0);
  auto policy = at::log_softmax(logits.to(at::kFloat), -1);  // (B, V)
  at::Tensor chosen;                                         // (B)
  at::Tensor sampling;                                       // (B, V)
  if (params.is_greedy()) {
    chosen = policy.argmax(-1);
  } else {
    sampling = sampling_logprobs(logits, params);
    // Inverse CDF with the row's own uniform draw.
    auto cdf = sampling.exp().cumsum(-1);  // (B, V)
    std::vector<float> draws(B);
    for (int64_t b = 0; b < B; ++b) draws[b] = static_cast<float>(rngs[b]->uniform());
    auto u = at::tensor(draws).to(cdf.device()).unsqueeze(1) * cdf.select(-1, -1).unsqueeze(1);
    chosen = at::searchsorted(cdf, u, /*out_int32=*/false, /*right=*/true).squeeze(1);
    // Never land on a masked token past the end of the mass (u rounding up to the total).
    chosen = chosen.clamp_max(cdf.size(-1) - 1);
    auto picked = sampling.gather(1, chosen.unsqueeze(1)).squeeze(1);
    auto fallback = sampling.argmax(-1);
    chosen = at::where(at::isinf(picked), fallback, chosen);
  }
  auto index = chosen.unsqueeze(1);
  // Greedy decoding puts all its mass on the argmax: log q = 0.
  auto sampled_logprob = params.is_greedy()
                             ? at::zeros({B}, at::kFloat)
                             : sampling.gather(1, index).squeeze(1).to(at::kCPU).contiguous();
  auto policy_logprob = policy.gather(1, index).squeeze(1).to(at::kCPU).contiguous();
  auto tokens = chosen.to(at::kCPU).contiguous();
  SampledTokens result;
  result.tokens.assign(tokens.data_ptr<int64_t>(), tokens.data_ptr<int64_t>() + B);
  result.sampling_logprobs.assign(sampled_logprob.data_ptr<float>(),
                                  sampled_logprob.data_ptr<float>() + B);
  result.policy_logprobs.assign(policy_logprob.data_ptr<float>(),
                                policy_logprob.data_ptr<float>() + B);
  return result;
}

}  // namespace empo::generate
