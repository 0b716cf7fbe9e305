#pragma once
// Rollouts with continuous batching over a paged KV cache: the (prompt, sample) jobs of the
// whole batch are admitted into rows as keys/values fit the budget; each prompt is prefilled
// once and its keys/values are read by all its samples from shared blocks; a row that
// finishes (EOS ids, stop strings, max_new_tokens) hands its place to the next job. Sampling
// runs on the device, and tokens come back to the host every `sync_steps` steps.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "empo/generate/sampler.h"
#include "empo/model/weights.h"

namespace empo::generate {

// What generate() keeps from one call to the next when cuda_graphs is on: the KV pool and the
// decode graphs captured over it (a graph bakes in the pool's addresses). A trainer's rollouts
// then capture each bucket once per run instead of once per call; the pool stays allocated
// between calls (through the update) and is replaced only when a call needs a larger one.
// One session serves one model at a time, on one thread.
class DecodeSession {
 public:
  DecodeSession();
  ~DecodeSession();
  DecodeSession(const DecodeSession&) = delete;
  DecodeSession& operator=(const DecodeSession&) = delete;

  int64_t pool_blocks() const;       // 0 before the first call
  int64_t captured_buckets() const;  // over every decoder kept
  int64_t decoders() const;          // one per (sampling, rows) the calls asked for
  int64_t buckets() const;           // (rows, blocks) buckets built over every decoder

  struct State;
  std::unique_ptr<State> state;
};

struct GenerationConfig {
  int64_t max_new_tokens = 256;
  int64_t num_samples = 1;        // G samples per prompt
  int64_t prompts_per_batch = 8;  // live rows: at most prompts_per_batch x G at once
  // Bytes the keys/values may fill (the pool is allocated once per call); 0: as many as
  // prompts_per_batch x G rows of max_new_tokens need.
  int64_t kv_budget_bytes = 0;
  int64_t block_size = 16;  // KV slots per block
  // Decode steps between host syncs (stop checks, admission); 0: 1 on CPU, 8 on CUDA. Tokens
  // are the same for any value: a row that stopped mid-window just has its surplus dropped.
  int64_t sync_steps = 0;
  // Decode steps over fixed-shape buffers per batch-size bucket, captured once as CUDA graphs
  // and replayed (GraphDecoder); on CPU the same buffers run eagerly. Off by default until
  // bench/gpu/run.sh has checked it against the eager path on a GPU.
  bool cuda_graphs = false;
  // Where a cuda_graphs call keeps its pool and graphs for the next (not owned); null: each
  // call captures its own.
  DecodeSession* session = nullptr;
  SamplingParams sampling;
  uint64_t seed = 0;
  std::vector<int64_t> eos_token_ids;
  std::vector<std::string> stop_strings;  // need `decode`
  int64_t pad_token_id = 0;
  // Called when prompts complete (all G samples done) with how many are done (progress).
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
  int64_t kv_cache_bytes = 0;   // the most the keys/values ever filled (blocks in use)
  int64_t kv_pool_bytes = 0;    // the pool allocated for them
  int64_t preemptions = 0;      // rows that outgrew the pool and started over
  int64_t captured_graphs = 0;  // batch-size buckets whose decode step is a CUDA graph
  double prefill_seconds = 0;
  double decode_seconds = 0;
};

using Decoder = std::function<std::string(const std::vector<int64_t>&)>;

// The rollout's share of what `device` has free now (memory_fraction of it): the KV budget the
// trainer, `empo generate` and `empo eval` give the engine (rollout_memory_fraction); 0 (no
// budget) only for a fraction of 0.
int64_t kv_budget_bytes(const at::Device& device, double memory_fraction);

// prompt_seeds[i] (optional, else i) identifies prompt i's random streams, so the trainer can
// draw a prompt's samples independently of where it sits in the batch. An empty prompt, or a
// budget that cannot hold one sample, is an InputError.
std::vector<Sample> generate(const model::Model& model,
                             const std::vector<std::vector<int64_t>>& prompts,
                             const GenerationConfig& config, const Decoder& decode = nullptr,
                             const std::vector<uint64_t>& prompt_seeds = {},
                             GenerationStats* stats = nullptr);

}  // namespace empo::generate
