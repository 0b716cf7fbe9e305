// LoRA vs full fine-tuning on CPU, in the same run: time of one update (forward + backward of
// a next-token loss, gradient clipping and the AdamW step), the trainable parameters, and the
// optimizer's memory (the bytes of AdamW's state tensors) and gradient memory, on a small
// Qwen2-shaped model (hidden 512, 4 layers, GQA 8/2, vocabulary 4096), 4 sequences of 256
// tokens. The two updates alternate step by step, so load from other processes on a shared
// machine slows both alike; wall and process CPU time are both reported.
#include <benchmark/benchmark.h>

#include <chrono>
#include <ctime>

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

double cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// One way of training the model: every weight (rank 0) or LoRA adapters on all-linear.
struct Trainee {
  model::Model model;
  std::vector<at::Tensor> trainable;
  std::unique_ptr<rl::AdamW> optimizer;
  int64_t gradient_bytes = 0;
  double wall = 0, cpu = 0;  // summed over the timed steps

  Trainee(int64_t rank) : model(model::random_model(bench_config(), 0)) {
    if (rank > 0) {
      model::LoraSettings settings;
      settings.r = rank;
      settings.alpha = 2.0 * static_cast<double>(rank);
      settings.targets = model::all_lora_modules();
      model.lora = model::init_lora(model, settings, 1);
      trainable = model::lora_parameters(*model.lora);
    } else {
      trainable = model::parameters(model);
    }
    for (auto& tensor : trainable) tensor.requires_grad_(true);
    optimizer = std::make_unique<rl::AdamW>(trainable, rl::AdamWSettings{});
  }

  void step(const model::ForwardBatch& batch, const at::Tensor& ids, bool timed) {
    const auto wall_start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    const int64_t T = ids.size(1);
    auto hidden = model::forward_hidden(model, batch);                            // (B, T, C)
    auto logits = at::linear(hidden.narrow(1, 0, T - 1), model.weights.lm_head);  // (B, T-1, V)
    auto loss =
        -at::log_softmax(logits, -1).gather(-1, ids.narrow(1, 1, T - 1).unsqueeze(-1)).mean();
    loss.backward();
    gradient_bytes = 0;
    for (const auto& tensor : trainable) gradient_bytes += bytes_of({tensor.grad()});
    rl::guarded_step(*optimizer, trainable, loss.item<double>(), 1.0, 1e-4);
    if (!timed) return;
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    cpu += cpu_seconds() - cpu_start;
  }

  int64_t optimizer_bytes() const {
    std::vector<at::Tensor> tensors;
    for (const auto& [name, tensor] : optimizer->state()) tensors.push_back(tensor);
    return bytes_of(tensors);
  }
  int64_t trainable_count() const {
    int64_t count = 0;
    for (const auto& tensor : trainable) count += tensor.numel();
    return count;
  }
};

void BM_LoraVsFullUpdate(benchmark::State& state) {
  model::init_runtime();
  Trainee full(0), lora(state.range(0));
  const int64_t B = 4, T = 256;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(2);
  auto ids = at::randint(full.model.config.vocab_size, {B, T}, generator, at::kLong);
  auto batch = model::make_batch(ids, at::ones_like(ids));
  full.step(batch, ids, false);  // warm-up: first allocations
  lora.step(batch, ids, false);
  int64_t steps = 0;
  for (auto _ : state) {
    full.step(batch, ids, true);
    lora.step(batch, ids, true);
    ++steps;
  }
  const double n = static_cast<double>(steps);
  state.counters["full_step_s"] = full.wall / n;
  state.counters["lora_step_s"] = lora.wall / n;
  state.counters["full_cpu_s"] = full.cpu / n;
  state.counters["lora_cpu_s"] = lora.cpu / n;
  state.counters["full_params"] = static_cast<double>(full.trainable_count());
  state.counters["lora_params"] = static_cast<double>(lora.trainable_count());
  state.counters["full_optimizer_MiB"] = full.optimizer_bytes() / 1048576.0;
  state.counters["lora_optimizer_MiB"] = lora.optimizer_bytes() / 1048576.0;
  state.counters["full_gradient_MiB"] = full.gradient_bytes / 1048576.0;
  state.counters["lora_gradient_MiB"] = lora.gradient_bytes / 1048576.0;
}
BENCHMARK(BM_LoraVsFullUpdate)
    ->ArgName("lora_r")
    ->Arg(8)
    ->Arg(64)
    ->Iterations(6)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
