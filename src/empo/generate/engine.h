#pragma once
// Batched rollouts: each prompt is prefilled once, its keys/values are copied into its G
// samples, and a decode loop with a KV cache extends all live samples one token per step,
// retiring the finished ones (EOS ids, stop strings, max_new_tokens).
#include <functional>
#include <string>
#include <vector>

#include "empo/generate/sampler.h"
#include "empo/model/weights.h"

namespace empo::generate {

struct GenerationConfig {
  int64_t max_new_tokens = 256;
  int64_t num_samples = 1;        // G samples per prompt
  int64_t prompts_per_batch = 8;  // prompts prefilled together (rows = prompts x G)
  SamplingParams sampling;
  uint64_t seed = 0;
  std::vector<int64_t> eos_token_ids;
  std::vector<std::string> stop_strings;  // need `decode`
  int64_t pad_token_id = 0;
  // Called after each batch of prompts with how many prompts are done (progress lines).
  std::function<void(size_t prompts_done)> on_batch_done;
};

enum class FinishReason { kStop, kLength };
const char* finish_reason_name(FinishReason reason);

struct Sample {
  int64_t prompt_index = 0;
  int64_t sample_index = 0;
  std::vector<int64_t> tokens;           // the completion, including a final EOS
  std::vector<float> sampling_logprobs;  // per token, under the distribution sampled
  std::vector<float> policy_logprobs;    // per token, under the unmodified policy (T = 1)
  FinishReason finish = FinishReason::kLength;
};

struct GenerationStats {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  int64_t kv_cache_bytes = 0;  // largest cache allocated
  double prefill_seconds = 0;
  double decode_seconds = 0;
};

using Decoder = std::function<std::string(const std::vector<int64_t>&)>;

// prompt_seeds[i] (optional, else i) identifies prompt i's random streams, so the trainer can
// draw a prompt's samples independently of where it sits in the batch.
std::vector<Sample> generate(const model::Model& model,
                             const std::vector<std::vector<int64_t>>& prompts,
                             const GenerationConfig& config, const Decoder& decode = nullptr,
                             const std::vector<uint64_t>& prompt_seeds = {},
                             GenerationStats* stats = nullptr);

}  // namespace empo::generate
