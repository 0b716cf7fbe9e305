// Rollout throughput: prefill and cached decode of a small Qwen2-shaped model (hidden 512,
// 8 layers, random weights, f32, CPU) at batch 1, 8 and 64, against the naive baseline that
// recomputes the whole sequence for every new token with the same model, in the same run.
#include <benchmark/benchmark.h>

#include <chrono>

#include "empo/generate/engine.h"
#include "empo/model/runtime.h"
#include "empo/model/transformer.h"

namespace {

using namespace empo;

constexpr int64_t kPromptLength = 64;
constexpr int64_t kNewTokens = 64;

const model::Model& small_model() {
  static model::Model model = [] {
    model::ModelConfig config;
    config.model_type = "qwen2";
    config.vocab_size = 8192;
    config.hidden_size = 512;
    config.intermediate_size = 1408;
    config.num_hidden_layers = 8;
    config.num_attention_heads = 8;
    config.num_key_value_heads = 2;
    config.head_dim = 64;
    config.attention_bias = true;
    config.tie_word_embeddings = true;
    return model::random_model(config, 0);
  }();
  return model;
}

std::vector<std::vector<int64_t>> prompts(int64_t count) {
  std::vector<std::vector<int64_t>> result(count);
  for (int64_t i = 0; i < count; ++i)
    for (int64_t t = 0; t < kPromptLength; ++t) result[i].push_back((i * 131 + t * 17) % 8192);
  return result;
}

void BM_CachedGenerate(benchmark::State& state) {
  model::init_runtime();
  const int64_t B = state.range(0);
  generate::GenerationConfig config;
  config.max_new_tokens = kNewTokens;
  config.prompts_per_batch = B;
  config.seed = 1;
  generate::GenerationStats stats, total;
  for (auto _ : state) {
    generate::generate(small_model(), prompts(B), config, nullptr, {}, &stats);
    total.prefill_seconds += stats.prefill_seconds;
    total.decode_seconds += stats.decode_seconds;
    total.prompt_tokens += stats.prompt_tokens;
    total.generated_tokens += stats.generated_tokens;
  }
  state.counters["decode_tok/s"] = total.generated_tokens / total.decode_seconds;
  state.counters["prefill_tok/s"] = total.prompt_tokens / total.prefill_seconds;
  state.counters["kv_MiB"] = stats.kv_cache_bytes / 1048576.0;
}
BENCHMARK(BM_CachedGenerate)
    ->Arg(1)
    ->Arg(8)
    ->Arg(64)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

// Naive baseline: no cache, the full sequence is recomputed to get each next token (greedy).
void BM_NaiveRecompute(benchmark::State& state) {
  model::init_runtime();
  const int64_t B = state.range(0);
  at::NoGradGuard no_grad;
  int64_t generated = 0;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto rows = prompts(B);
    auto ids = at::empty({B, kPromptLength}, at::kLong);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < kPromptLength; ++t) ids[b][t] = rows[b][t];
    for (int64_t step = 0; step < kNewTokens; ++step) {
      auto batch = model::make_batch(ids, at::ones_like(ids));
      auto hidden = model::forward_hidden(small_model(), batch);
      auto logits = at::linear(hidden.select(1, ids.size(1) - 1), small_model().weights.lm_head);
      ids = at::cat({ids, logits.argmax(-1, true)}, 1);
      generated += B;
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  state.counters["decode_tok/s"] = generated / seconds;
}
BENCHMARK(BM_NaiveRecompute)
    ->Arg(1)
    ->Arg(8)
    ->Arg(64)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
