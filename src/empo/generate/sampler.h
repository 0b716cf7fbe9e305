#pragma once
// Turning next-token logits into tokens: greedy, temperature, top-k, top-p, min-p. Every
// sequence draws from its own generator, so a sample does not change when the batch around it
// changes, and the log-prob of each drawn token is reported under the distribution actually
// sampled and under the unmodified policy.
#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <vector>

namespace empo::generate {

struct SamplingParams {
  bool greedy = false;
  double temperature = 1.0;  // 0 means greedy
  int64_t top_k = 0;         // 0 = off
  double top_p = 1.0;        // 1 = off
  double min_p = 0.0;        // 0 = off; keep tokens with p >= min_p * max p
  bool is_greedy() const { return greedy || temperature <= 0.0; }
  bool operator==(const SamplingParams& other) const {
    return greedy == other.greedy && temperature == other.temperature && top_k == other.top_k &&
           top_p == other.top_p && min_p == other.min_p;
  }
};

// A sequence's own random stream: seeded from (seed, prompt, sample) so the draw for one
// sample is the same however the batch is composed.
class SequenceRng {
 public:
  SequenceRng(uint64_t seed, uint64_t prompt, uint64_t sample);
  double uniform();  // [0, 1) with 53 random bits

 private:
  std::mt19937_64 engine_;
};

uint64_t mix_seed(uint64_t a, uint64_t b);

// The distribution that sampling uses, as log-probs (B, V) float32: logits / T, then the
// top-k, top-p and min-p truncations (masked to -inf), renormalised.
at::Tensor sampling_logprobs(const at::Tensor& logits, const SamplingParams& params);

struct SampledTokens {
  std::vector<int64_t> tokens;           // (B)
  std::vector<float> sampling_logprobs;  // log q(token) under the truncated distribution
  std::vector<float> policy_logprobs;    // log p(token) under softmax(logits), T = 1
};

// The same on the logits' device, with the uniform draws given: nothing leaves the device.
struct DeviceSamples {
  at::Tensor tokens;             // (B) int64
  at::Tensor sampling_logprobs;  // (B) float32
  at::Tensor policy_logprobs;    // (B) float32
};

// logits (B, V); uniforms (B) in [0, 1), one per row, on the logits' device (unused when
// greedy). A draw u picks the first token whose cumulative mass exceeds u (inverse CDF).
DeviceSamples sample_on_device(const at::Tensor& logits, const SamplingParams& params,
                               const at::Tensor& uniforms);

// One token per row. logits (B, V); rngs[b] belongs to row b.
SampledTokens sample_tokens(const at::Tensor& logits, const SamplingParams& params,
                            std::vector<SequenceRng*>& rngs);

}  // namespace empo::generate
