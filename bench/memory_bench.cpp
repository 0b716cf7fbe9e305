// Peak memory of one training step (forward + backward of a next-token loss) on CPU, per
// attention implementation and with / without gradient checkpointing, at growing sequence
// lengths: the eager scores are O(T^2) per layer and head, sdpa's fused kernel (libtorch 2.x)
// keeps O(T); checkpointing keeps one tensor per layer instead of its activations.
//
// Each measurement runs in a fresh child process (this binary with --child), so one variant's
// freed heap cannot hide another's peak: the child fixes glibc's mmap threshold (large tensors
// go back to the system when freed), resets the peak RSS (/proc/self/clear_refs) after building
// the model, and reports VmHWM - VmRSS of the step alone.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "empo/model/runtime.h"
#include "empo/model/transformer.h"
#include "empo/model/weights.h"

namespace {

using namespace empo;

int64_t status_kib(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field, 0) == 0) return std::stoll(line.substr(std::strlen(field)));
  return -1;
}

// An activation-heavy shape: many positions, small weights (hidden 256, GQA 8/2).
model::ModelConfig bench_config(int64_t layers) {
  auto json = nlohmann::json::parse(R"({
    "model_type": "qwen2", "vocab_size": 512, "hidden_size": 256, "intermediate_size": 1024,
    "num_hidden_layers": 0, "num_attention_heads": 8, "num_key_value_heads": 2,
    "max_position_embeddings": 4096, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
    "tie_word_embeddings": true, "torch_dtype": "float32"})");
  json["num_hidden_layers"] = layers;
  return model::parse_model_config(json, "memory_bench");
}

// The child: one step, prints "<peak step bytes> <seconds>".
int run_child(const std::string& attn, bool checkpointing, int64_t T, int64_t layers) {
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  model::init_runtime(1);
  model::LoadOptions options;
  options.attn_implementation = model::parse_attn_implementation(attn, "--child");
  auto model = model::random_model(bench_config(layers), 0, options);
  model.gradient_checkpointing = checkpointing;
  for (auto& parameter : model::parameters(model)) parameter.requires_grad_(true);
  const int64_t B = 1;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(1);
  auto ids = at::randint(model.config.vocab_size, {B, T}, generator, at::kLong);
  auto batch = model::make_batch(ids, at::ones_like(ids));
  {
    std::ofstream reset("/proc/self/clear_refs");
    reset << "5";
  }
  const int64_t before = status_kib("VmRSS:");
  auto start = std::chrono::steady_clock::now();
  auto hidden = model::forward_hidden(model, batch);  // (B, T, C)
  auto logits = at::linear(hidden.narrow(1, 0, T - 1), model.weights.lm_head);
  auto loss = -at::log_softmax(logits, -1).gather(-1, ids.narrow(1, 1, T - 1).unsqueeze(-1)).mean();
  loss.backward();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int64_t peak = status_kib("VmHWM:");
  std::printf("%lld %.3f\n", static_cast<long long>((peak - before) * 1024), seconds);
  return 0;
}

std::string self_path;

void BM_TrainingStepPeakMemory(benchmark::State& state, const char* attn, bool checkpointing) {
  const int64_t T = state.range(0), layers = state.range(1);
  double bytes = 0, seconds = 0;
  for (auto _ : state) {
    std::string command = self_path + " --child " + attn + " " + (checkpointing ? "1" : "0") + " " +
                          std::to_string(T) + " " + std::to_string(layers);
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe || std::fscanf(pipe, "%lf %lf", &bytes, &seconds) != 2) {
      state.SkipWithError("child failed");
      if (pipe) pclose(pipe);
      return;
    }
    pclose(pipe);
  }
  state.counters["peak_MiB"] = bytes / (1024.0 * 1024.0);
  state.counters["step_s"] = seconds;
}

}  // namespace

// {T, layers}; the 16-layer runs show checkpointing's share falling as depth grows.
BENCHMARK_CAPTURE(BM_TrainingStepPeakMemory, eager, "eager", false)
    ->Args({512, 4})
    ->Args({1024, 4})
    ->Args({2048, 4})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(BM_TrainingStepPeakMemory, sdpa, "sdpa", false)
    ->Args({512, 4})
    ->Args({1024, 4})
    ->Args({2048, 4})
    ->Args({2048, 16})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(BM_TrainingStepPeakMemory, eager_checkpointing, "eager", true)
    ->Args({512, 4})
    ->Args({1024, 4})
    ->Args({2048, 4})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(BM_TrainingStepPeakMemory, sdpa_checkpointing, "sdpa", true)
    ->Args({512, 4})
    ->Args({1024, 4})
    ->Args({2048, 4})
    ->Args({2048, 16})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

int main(int argc, char** argv) {
  if (argc == 6 && std::string(argv[1]) == "--child")
    return run_child(argv[2], std::string(argv[3]) == "1", std::stoll(argv[4]),
                     std::stoll(argv[5]));
  self_path = "/proc/" + std::to_string(getpid()) + "/exe";
  self_path = std::filesystem::read_symlink(self_path).string();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
