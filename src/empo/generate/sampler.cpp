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

DeviceSamples sample_on_device(const at::Tensor& logits, const SamplingParams& params,
                               const at::Tensor& uniforms) {
  at::NoGradGuard no_grad;
  const int64_t B = logits.size(0);
  auto policy = at::log_softmax(logits.to(at::kFloat), -1);  // (B, V)
  DeviceSamples result;
  if (params.is_greedy()) {
    result.tokens = policy.argmax(-1);
    // Greedy decoding puts all its mass on the argmax: log q = 0.
    result.sampling_logprobs = at::zeros({B}, policy.options());
  } else {
    const bool untruncated = params.temperature == 1.0 && params.top_k == 0 &&
                             params.top_p >= 1.0 && params.min_p <= 0.0;
    auto sampling = untruncated ? policy : sampling_logprobs(logits, params);  // (B, V)
    auto cdf = sampling.exp().cumsum(-1);                                      // (B, V)
    auto u = uniforms.to(cdf.options()).unsqueeze(1) * cdf.select(-1, -1).unsqueeze(1);
    auto chosen = at::searchsorted(cdf, u, /*out_int32=*/false, /*right=*/true).squeeze(1);
    // Never land on a masked token past the end of the mass (u rounding up to the total).
    chosen = chosen.clamp_max(cdf.size(-1) - 1);
    auto picked = sampling.gather(1, chosen.unsqueeze(1)).squeeze(1);
    result.tokens = at::where(at::isinf(picked), sampling.argmax(-1), chosen);
    result.sampling_logprobs = sampling.gather(1, result.tokens.unsqueeze(1)).squeeze(1);
  }
  result.policy_logprobs = policy.gather(1, result.tokens.unsqueeze(1)).squeeze(1);
  return result;
}

namespace {

template <class T>
std::vector<T> to_vector(const at::Tensor& tensor) {
  auto host = tensor.to(at::kCPU).contiguous();
  return {host.data_ptr<T>(), host.data_ptr<T>() + host.numel()};
}

}  // namespace

SampledTokens sample_tokens(const at::Tensor& logits, const SamplingParams& params,
                            std::vector<SequenceRng*>& rngs) {
  const int64_t B = logits.size(0);
  std::vector<double> draws(params.is_greedy() ? 0 : B);
  for (size_t b = 0; b < draws.size(); ++b) draws[b] = rngs[b]->uniform();
  auto uniforms = draws.empty() ? at::Tensor() : at::tensor(draws).to(logits.device());
  auto sampled = sample_on_device(logits, params, uniforms);
  return {to_vector<int64_t>(sampled.tokens), to_vector<float>(sampled.sampling_logprobs),
          to_vector<float>(sampled.policy_logprobs)};
}

}  // namespace empo::generate
