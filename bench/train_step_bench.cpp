// One EMPO training step of a random Qwen2-shaped model, timed: the trainer's own path
// (pack -> forward -> chunked token log-probs -> GRPO loss -> backward -> fp32 gradient sums ->
// clip -> AdamW), on the device given. bench/gpu/eager_step.py runs the PyTorch eager peer of
// the same shapes; bench/gpu/run.sh prints both. Prints one JSON line.
//
// Usage: train_step_bench key=value ...  (see Options for the keys and their defaults)
// Shapes: qwen2.5-0.5b, qwen2.5-1.5b (shape=NAME) or every size given by hand.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "empo/model/config.h"
#include "empo/model/logprobs.h"
#include "empo/model/runtime.h"
#include "empo/model/torch_compat.h"
#include "empo/model/weights.h"
#include "empo/rl/grad_accumulation.h"
#include "empo/rl/memory_plan.h"
#include "empo/rl/optimizer.h"
#include "empo/rl/policy_loss.h"
#include "empo/rl/update.h"

namespace {

using namespace empo;

struct Options {
  std::string shape = "qwen2.5-0.5b";
  std::string device = "auto";
  std::string dtype = "auto";
  std::string attn = "auto";
  int64_t sequences = 8;     // completions per micro-batch
  int64_t prompt = 256;      // prompt tokens per sequence
  int64_t completion = 768;  // completion tokens per sequence
  int steps = 5;             // timed steps
  int warmup = 2;
  bool checkpointing = false;
  int64_t hidden = 0, layers = 0, heads = 0, kv_heads = 0, intermediate = 0, vocab = 0;
};

nlohmann::json qwen_config(const Options& options) {
  // Hugging Face config.json fields of Qwen2.5-0.5B / 1.5B (architecture only).
  std::map<std::string, std::array<int64_t, 6>> shapes{
      {"qwen2.5-0.5b", {896, 24, 14, 2, 4864, 151936}},
      {"qwen2.5-1.5b", {1536, 28, 12, 2, 8960, 151936}},
  };
  std::array<int64_t, 6> size{options.hidden,   options.layers,       options.heads,
                              options.kv_heads, options.intermediate, options.vocab};
  if (options.shape != "custom") {
    auto found = shapes.find(options.shape);
    if (found == shapes.end()) throw std::invalid_argument("unknown shape " + options.shape);
    for (size_t i = 0; i < size.size(); ++i)
      if (size[i] == 0) size[i] = found->second[i];
  }
  return {{"model_type", "qwen2"},          {"hidden_size", size[0]},
          {"num_hidden_layers", size[1]},   {"num_attention_heads", size[2]},
          {"num_key_value_heads", size[3]}, {"intermediate_size", size[4]},
          {"vocab_size", size[5]},          {"max_position_embeddings", 32768},
          {"rms_norm_eps", 1e-6},           {"rope_theta", 1000000.0},
          {"tie_word_embeddings", true},    {"torch_dtype", "bfloat16"}};
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    auto equals = argument.find('=');
    if (equals == std::string::npos) throw std::invalid_argument("expected key=value: " + argument);
    std::string key = argument.substr(0, equals), value = argument.substr(equals + 1);
    std::map<std::string, int64_t*> integers{{"sequences", &options.sequences},
                                             {"prompt", &options.prompt},
                                             {"completion", &options.completion},
                                             {"hidden", &options.hidden},
                                             {"layers", &options.layers},
                                             {"heads", &options.heads},
                                             {"kv_heads", &options.kv_heads},
                                             {"intermediate", &options.intermediate},
                                             {"vocab", &options.vocab}};
    if (key == "shape")
      options.shape = value;
    else if (key == "device")
      options.device = value;
    else if (key == "dtype")
      options.dtype = value;
    else if (key == "attn")
      options.attn = value;
    else if (key == "steps")
      options.steps = std::stoi(value);
    else if (key == "warmup")
      options.warmup = std::stoi(value);
    else if (key == "checkpointing")
      options.checkpointing = value == "1" || value == "true";
    else if (integers.count(key))
      *integers[key] = std::stoll(value);
    else
      throw std::invalid_argument("unknown key " + key);
  }
  return options;
}

int64_t peak_host_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return 0;
}

void synchronize(const at::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parse(argc, argv);
    model::init_runtime();
    const at::Device device = model::parse_device(options.device);
    const at::ScalarType dtype = model::compute_dtype(options.dtype, device);
    const auto model_config = model::parse_model_config(qwen_config(options), "train_step_bench");
    model::LoadOptions load;
    load.dtype = dtype;
    load.device = device;
    load.attn_implementation = model::parse_attn_implementation(options.attn, "attn");
    model::Model policy = model::random_model(model_config, 1, load);
    policy.gradient_checkpointing = options.checkpointing;
    auto parameters = model::parameters(policy);
    for (auto& parameter : parameters) parameter.requires_grad_(true);
    rl::AdamW optimizer(parameters, {});
    rl::GradAccumulator accumulator(parameters);

    // Random prompts and completions (the step's cost does not depend on the token values).
    std::mt19937_64 random(7);
    std::uniform_int_distribution<int64_t> token(0, model_config.vocab_size - 1);
    std::vector<std::vector<int64_t>> prompts(options.sequences);
    std::vector<rl::TrainSample> samples(options.sequences);
    for (int64_t i = 0; i < options.sequences; ++i) {
      for (int64_t t = 0; t < options.prompt; ++t) prompts[i].push_back(token(random));
      samples[i].prompt = &prompts[i];
      for (int64_t t = 0; t < options.completion; ++t)
        samples[i].completion.push_back(token(random));
      samples[i].advantage = (i % 2 == 0) ? 1.0 : -1.0;
    }
    auto rows = rl::sample_rows(samples, 0, samples.size());
    rl::LossSettings settings;
    rl::LossNormalizers normalizers;
    normalizers.sequences = static_cast<double>(options.sequences);

    auto step = [&] {
      auto batch = rl::pack(rows, false, device);
      auto hidden = rl::completion_hidden(policy, batch);
      auto logprobs = model::token_logprobs(hidden, policy.weights.lm_head, batch.targets);
      rl::PolicyLossInputs inputs;
      inputs.logprobs = logprobs.view({-1, batch.K});
      inputs.old_logprobs = inputs.logprobs.detach();
      std::vector<float> advantages;
      for (const auto* sample : rows) advantages.push_back(static_cast<float>(sample->advantage));
      inputs.advantages = at::tensor(advantages).to(device);
      inputs.mask = batch.mask;
      auto result = rl::policy_loss(inputs, settings, normalizers);
      result.loss.backward();
      accumulator.add_micro_batch();
      accumulator.finish();
      rl::guarded_step(optimizer, parameters, result.loss.item<double>(), 1.0, 1e-6);
    };
    for (int i = 0; i < options.warmup; ++i) step();
    synchronize(device);
    compat::reset_cuda_peak_memory(device);
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < options.steps; ++i) step();
    synchronize(device);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
        options.steps;

    const int64_t T = options.prompt + options.completion;
    const double tokens = static_cast<double>(options.sequences * T);
    // Matmul parameters: the lm_head multiplies, the embedding lookup does not (tied here).
    const int64_t P =
        rl::parameter_count(model_config) -
        (model_config.tie_word_embeddings ? 0 : model_config.vocab_size * model_config.hidden_size);
    // 6 FLOPs per matmul parameter per token (forward + backward), plus attention's
    // 12 * layers * hidden * T per token (PaLM's accounting).
    const double flops =
        tokens * (6.0 * P + 12.0 * model_config.num_hidden_layers *
                                model_config.num_attention_heads * model_config.head_dim * T);
    const int64_t peak = device.is_cuda() ? compat::cuda_peak_memory(device) : peak_host_bytes();
    nlohmann::json line{{"impl", "empo"},
                        {"shape", options.shape},
                        {"device", device.str()},
                        {"dtype", dtype == at::kBFloat16 ? "bfloat16" : "float32"},
                        {"sequences", options.sequences},
                        {"tokens_per_sequence", T},
                        {"step_seconds", seconds},
                        {"tokens_per_second", tokens / seconds},
                        {"tflops", flops / seconds / 1e12},
                        {"peak_bytes", peak}};
    std::cout << line.dump() << std::endl;
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "train_step_bench: " << error.what() << "\n";
    return 2;
  }
}
