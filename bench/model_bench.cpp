// Forward+backward throughput of a Qwen2.5-0.5B-shaped model (random weights, f32, CPU) next to
// the GFLOP/s of a large libtorch matmul in the same run: the practical peak of this machine.
#include <benchmark/benchmark.h>

#include "empo/model/logprobs.h"
#include "empo/model/runtime.h"
#include "empo/model/transformer.h"

namespace {

using namespace empo::model;

ModelConfig qwen25_half_billion() {
  ModelConfig config;
  config.model_type = "qwen2";
  config.vocab_size = 151936;
  config.hidden_size = 896;
  config.intermediate_size = 4864;
  config.num_hidden_layers = 24;
  config.num_attention_heads = 14;
  config.num_key_value_heads = 2;
  config.head_dim = 64;
  config.rope_theta = 1e6;
  config.tie_word_embeddings = true;
  config.attention_bias = true;
  return config;
}

// Multiply-adds x 2 of one token's forward through the matmuls (projections, MLP, lm_head) plus
// attention over `context` keys; backward costs twice the forward.
double forward_flops_per_token(const ModelConfig& c, int64_t context) {
  const double C = c.hidden_size, F = c.intermediate_size, D = c.head_dim;
  const double q = c.num_attention_heads * D, kv = c.num_key_value_heads * D;
  double per_layer =
      C * q + 2 * C * kv + q * C + 3 * C * F + 2 * c.num_attention_heads * D * context;
  return 2 * (c.num_hidden_layers * per_layer + C * c.vocab_size);
}

void BM_MatmulPeak(benchmark::State& state) {
  init_runtime();
  const int64_t n = state.range(0);
  auto a = at::randn({n, n}), b = at::randn({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(at::matmul(a, b));
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * n * n * n * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MatmulPeak)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ForwardBackward(benchmark::State& state) {
  init_runtime();
  const int64_t B = state.range(0), T = state.range(1);
  static Model model = random_model(qwen25_half_billion(), 0);
  for (auto& parameter : parameters(model)) parameter.requires_grad_(true);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(1);
  auto ids = at::randint(0, model.config.vocab_size, {B, T}, generator);
  auto batch = make_batch(ids, at::ones({B, T}, at::kLong));
  for (auto _ : state) {
    auto hidden = forward_hidden(model, batch);  // (B, T, C)
    auto logprobs = token_logprobs(hidden.narrow(1, 0, T - 1).reshape({B * (T - 1), -1}),
                                   model.weights.lm_head, ids.narrow(1, 1, T - 1).reshape({-1}));
    logprobs.mean().backward();
    for (auto& parameter : parameters(model)) parameter.mutable_grad().reset();
  }
  const double tokens = static_cast<double>(B * T) * state.iterations();
  state.counters["tokens/s"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(
      3 * forward_flops_per_token(model.config, T / 2) * tokens / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ForwardBackward)
    ->Args({1, 256})
    ->Args({4, 128})
    ->Iterations(2)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
