// LoRA vs full fine-tuning on CPU, both in this run: time of one update (forward + backward of
// a next-token loss, gradient clipping and the AdamW step) and the optimizer's memory (AdamW
// moments, exactly the bytes of its state tensors) and gradient memory, on a small Qwen2-shaped
// model (hidden 512, 4 layers, GQA 8/2, vocabulary 4096), 4 sequences of 256 tokens.
#include <benchmark/benchmark.h>

#include "empo/model/lora.h"
#include "empo/model/runtime.h"
#include "empo/model/transformer.h"
#include "empo/rl/optimizer.h"

namespace {

using namespace empo;

model::ModelConfig bench_config() {
  auto json = nlohmann::json::parse(R"({
    "model_type": "qwen2", "vocab_size": 4096, "hidden_size": 512, "intermediate_size": 1408,
    "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 2,
    "max_position_embeddings": 4096, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
    "tie_word_embeddings": true, "torch_dtype": "float32"})");
  return model::parse_model_config(json, "lora_bench");
}

int64_t bytes_of(const std::vector<at::Tensor>& tensors) {
  int64_t bytes = 0;
  for (const auto& tensor : tensors)
    if (tensor.defined()) bytes += tensor.numel() * tensor.element_size();
  return bytes;
}

// rank 0: full fine-tuning (every weight trains); rank r > 0: LoRA on all-linear.
void BM_UpdateStep(benchmark::State& state) {
  model::init_runtime();
  const int64_t rank = state.range(0);
  auto model = model::random_model(bench_config(), 0);
  std::vector<at::Tensor> trainable;
  if (rank > 0) {
    model::LoraSettings settings;
    settings.r = rank;
    settings.alpha = 2.0 * rank;
    settings.targets = model::all_lora_modules();
    model.lora = model::init_lora(model, settings, 1);
    trainable = model::lora_parameters(*model.lora);
  } else {
    trainable = model::parameters(model);
  }
  for (auto& tensor : trainable) tensor.requires_grad_(true);
  rl::AdamW optimizer(trainable, {});
  const int64_t B = 4, T = 256;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(2);
  auto ids = at::randint(model.config.vocab_size, {B, T}, generator, at::kLong);
  auto batch = model::make_batch(ids, at::ones_like(ids));
  auto step = [&] {
    auto hidden = model::forward_hidden(model, batch);  // (B, T, C)
    auto logits = at::linear(hidden.narrow(1, 0, T - 1), model.weights.lm_head);
    auto loss =
        -at::log_softmax(logits, -1).gather(-1, ids.narrow(1, 1, T - 1).unsqueeze(-1)).mean();
    loss.backward();
    int64_t gradient_bytes = 0;
    for (const auto& tensor : trainable) gradient_bytes += bytes_of({tensor.grad()});
    rl::guarded_step(optimizer, trainable, loss.item<double>(), 1.0, 1e-4);
    return gradient_bytes;
  };
  int64_t gradient_bytes = step();  // warm-up: allocates the moments' first values
  for (auto _ : state) gradient_bytes = step();
  std::vector<at::Tensor> state_tensors;
  for (const auto& [name, tensor] : optimizer.state()) state_tensors.push_back(tensor);
  int64_t trainable_count = 0;
  for (const auto& tensor : trainable) trainable_count += tensor.numel();
  state.counters["trainable_params"] = static_cast<double>(trainable_count);
  state.counters["optimizer_MiB"] = bytes_of(state_tensors) / 1048576.0;
  state.counters["gradient_MiB"] = gradient_bytes / 1048576.0;
  state.counters["model_MiB"] = bytes_of(model::parameters(model)) / 1048576.0;
}
BENCHMARK(BM_UpdateStep)
    ->ArgName("lora_r")
    ->Arg(0)
    ->Arg(8)
    ->Arg(64)
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
