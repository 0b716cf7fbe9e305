#include "empo/rl/memory_plan.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "empo/dist/buckets.h"
#include "empo/model/lora_config.h"

namespace empo::rl {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;
// Rows of logits the log-prob head computes at once (model/logprobs.h's chunk_rows).
constexpr int64_t kLogprobChunkRows = 1024;

// Measured, not derived: the resident size of the empo binary with libtorch loaded and a model
// run once (code pages, thread pools, allocator slack), and on a GPU the CUDA context with its
// kernels and the cuBLAS workspace.
constexpr int64_t kCpuRuntimeBytes = 320 * kMiB;
constexpr int64_t kGpuRuntimeBytes = 1 * kGiB;

int64_t projection_width(const model::ModelConfig& model, int64_t heads) {
  return heads * model.head_dim;
}

// Elements one token saves for backward in one decoder layer, scores excluded (see
// transformer.cpp): each RMSNorm keeps its input, the normalised value and the scaled output;
// RoPE keeps q, k and their rotated halves; attention keeps q, k, v and its output, with k and
// v repeated to every query head unless the fused kernel shares them (2.x's causal sdpa with
// grouped heads); the MLP keeps gate, silu(gate), up and their product.
int64_t saved_elements_per_token_layer(const model::ModelConfig& model, bool fused_attention) {
  const int64_t H = model.hidden_size;
  const int64_t q = projection_width(model, model.num_attention_heads);
  const int64_t kv = projection_width(model, model.num_key_value_heads);
  const int64_t norms = 2 * 3 * H;
  const int64_t rotary = 2 * q + 2 * kv;
  // The scores, when materialised, are counted apart.
  const int64_t attention = fused_attention ? 2 * q + 2 * kv : 4 * q;
  const int64_t mlp = 4 * model.intermediate_size;
  return norms + rotary + attention + mlp;
}

}  // namespace

PlanShape plan_shape(const TrainConfig& config, const PlanTarget& target) {
  PlanShape shape;
  const bool bf16 =
      config.dtype == Dtype::bfloat16 || (config.dtype == Dtype::automatic && target.gpu);
  shape.dtype_bytes = bf16 ? 2 : 4;
  const bool sdpa = config.attn_implementation != model::AttnImplementation::eager;
  shape.materialised_scores = !(sdpa && target.fused_attention);
  const int64_t G = std::max(1, config.num_generations);
  const int64_t chunk_sequences = int64_t{std::max(1, config.per_device_train_batch_size)} * G;
  shape.micro_batch_sequences = config.micro_batch_size > 0
                                    ? std::min<int64_t>(config.micro_batch_size, chunk_sequences)
                                    : chunk_sequences;
  shape.sequence_tokens = config.max_prompt_length + config.max_completion_length;
  return shape;
}

int64_t parameter_count(const model::ModelConfig& model) {
  const int64_t H = model.hidden_size;
  const int64_t q = projection_width(model, model.num_attention_heads);
  const int64_t kv = projection_width(model, model.num_key_value_heads);
  int64_t layer = H * q + 2 * H * kv + q * H + 3 * H * model.intermediate_size + 2 * H;
  if (model.attention_bias) layer += q + 2 * kv;
  if (model.o_proj_bias) layer += H;
  if (model.qk_norm) layer += 2 * model.head_dim;
  int64_t total = model.vocab_size * H + layer * model.num_hidden_layers + H;
  if (!model.tie_word_embeddings) total += model.vocab_size * H;
  return total;
}

int64_t kv_bytes_per_token(const model::ModelConfig& model, int64_t dtype_bytes) {
  return 2 * model.num_hidden_layers * projection_width(model, model.num_key_value_heads) *
         dtype_bytes;
}

int64_t activation_bytes(const model::ModelConfig& model, const PlanShape& shape,
                         bool gradient_checkpointing) {
  const int64_t N = shape.micro_batch_sequences;
  const int64_t T = shape.sequence_tokens;
  const int64_t tokens = N * T;
  const int64_t b = shape.dtype_bytes;
  // One layer's saved tensors; materialised scores add the softmax output, (H, T) per token.
  int64_t layer = tokens * saved_elements_per_token_layer(model, !shape.materialised_scores) * b;
  if (shape.materialised_scores) layer += tokens * model.num_attention_heads * T * b;
  // Checkpointing keeps each layer's input and replays one layer at a time in backward.
  const int64_t layers = gradient_checkpointing
                             ? tokens * model.hidden_size * b * model.num_hidden_layers + layer
                             : layer * model.num_hidden_layers;
  // Backward's working set is about one more layer: the gradients of the layer it is in.
  const int64_t backward = layer;
  // Embeddings, the final norm (3 tensors) and the log-prob head's chunk: float32 logits,
  // their softmax and its gradient, recomputed per chunk.
  const int64_t outside = tokens * model.hidden_size * b * 4 +
                          std::min(tokens, kLogprobChunkRows) * model.vocab_size * 4 * 3;
  return layers + backward + outside;
}

int64_t prompt_kv_bytes(const model::ModelConfig& model, const TrainConfig& config,
                        int64_t dtype_bytes, int64_t prompt_tokens) {
  // The prompt's blocks are shared by its samples (generate/paged_cache.h).
  return (prompt_tokens +
          std::max<int64_t>(1, config.num_generations) * config.max_completion_length) *
         kv_bytes_per_token(model, dtype_bytes);
}

int64_t rollout_prompts_per_batch(const model::ModelConfig& model, const TrainConfig& config,
                                  int64_t dtype_bytes, int64_t prompt_tokens,
                                  int64_t budget_bytes) {
  const int64_t prompts = int64_t{std::max(1, config.per_device_train_batch_size)};
  if (budget_bytes <= 0) return prompts;
  const int64_t per_prompt = prompt_kv_bytes(model, config, dtype_bytes, prompt_tokens);
  return std::clamp<int64_t>(budget_bytes / std::max<int64_t>(1, per_prompt), 1, prompts);
}

namespace {

// What one micro-batch's forward and backward hold beyond the resident state: its saved
// activations (with and without checkpointing), the adapters' saved projections, and the
// head's gradient.
struct UpdateBytes {
  int64_t with_checkpointing = 0;
  int64_t without_checkpointing = 0;
  int64_t head_gradient = 0;
  int64_t chosen(bool gradient_checkpointing) const {
    return (gradient_checkpointing ? with_checkpointing : without_checkpointing) + head_gradient;
  }
};

UpdateBytes update_bytes(const TrainConfig& config, const model::ModelConfig& policy,
                         const PlanShape& shape) {
  const model::LoraSettings lora = lora_settings(config);
  // Each adapter keeps its (tokens, r) projection, and its dropped-out input when dropout is on.
  int64_t adapter_elements = 0;
  for (model::LoraModule module : lora.r > 0 ? lora.targets : std::vector<model::LoraModule>{}) {
    adapter_elements += lora.r;
    if (lora.dropout > 0) adapter_elements += model::lora_module_features(policy, module).first;
  }
  const int64_t adapter_bytes = shape.micro_batch_sequences * shape.sequence_tokens *
                                adapter_elements * shape.dtype_bytes * policy.num_hidden_layers;
  UpdateBytes bytes;
  bytes.without_checkpointing = activation_bytes(policy, shape, false) + adapter_bytes;
  bytes.with_checkpointing =
      activation_bytes(policy, shape, true) + adapter_bytes / policy.num_hidden_layers;
  // model/logprobs.cpp sums a trained head's gradient in its own dtype; a frozen one has none.
  bytes.head_gradient = lora.r > 0 ? 0 : policy.vocab_size * policy.hidden_size * shape.dtype_bytes;
  return bytes;
}

int64_t chunk_sequences(const TrainConfig& config) {
  return int64_t{std::max(1, config.per_device_train_batch_size)} *
         std::max(1, config.num_generations);
}

}  // namespace

int64_t auto_micro_batch(const TrainConfig& config, const model::ModelConfig& policy,
                         const PlanTarget& target, int64_t budget_bytes) {
  PlanShape shape = plan_shape(config, target);
  auto fits = [&](int64_t sequences) {
    shape.micro_batch_sequences = sequences;
    return update_bytes(config, policy, shape).chosen(config.gradient_checkpointing) <=
           budget_bytes;
  };
  // The bytes grow with the sequence count: the largest count that fits, by bisection.
  int64_t low = 1, high = chunk_sequences(config);
  if (fits(high)) return high;
  while (high - low > 1) {
    const int64_t middle = low + (high - low) / 2;
    (fits(middle) ? low : high) = middle;
  }
  return low;
}

MemoryPlan plan_memory(const TrainConfig& config, const model::ModelConfig& policy,
                       const std::optional<model::ModelConfig>& judge, const PlanTarget& target) {
  PlanShape shape = plan_shape(config, target);
  const int64_t b = shape.dtype_bytes;
  MemoryPlan plan;
  plan.parameters = parameter_count(policy);
  const int64_t P = plan.parameters;
  const model::LoraSettings lora = lora_settings(config);
  // With LoRA only the adapters train, and the reference is the base with adapters off.
  plan.trainable_parameters = lora.r > 0 ? model::lora_parameter_count(policy, lora) : P;
  const int64_t trainable = plan.trainable_parameters;
  const bool reference = lora.r == 0 && (config.beta > 0 || config.guard_max_kl > 0);
  plan.weights = P * b * (reference ? 2 : 1) + (lora.r > 0 ? trainable * b : 0);
  if (judge) plan.weights += parameter_count(*judge) * b;
  // Autograd's .grad in the parameter dtype, and for bf16 the float32 sums of
  // rl/grad_accumulation.h that outlive each micro-batch's bf16 gradient.
  // zero_stage shards float32 state over the ranks, in ranges of R = ceil(P / N) elements
  // (rl/zero_optimizer.h): stage 1 keeps a range's master, moments and float32 gradient copy;
  // stage 2 reduces every micro-batch's gradient into the owner's float32 range instead of
  // summing it whole.
  const int64_t N = std::max(1, target.nproc);
  const int64_t range = (trainable + N - 1) / N;
  const int64_t float32_sums = b < 4 ? trainable * 4 : 0;
  switch (config.zero_stage) {
    case 0:
      plan.gradients = trainable * b + float32_sums;
      plan.optimizer = trainable * 8 + float32_sums;
      break;
    case 1:
      plan.gradients = trainable * b + float32_sums;
      plan.optimizer = range * 16;
      break;
    default:
      plan.gradients = trainable * b + range * 4;
      plan.optimizer = range * 12;
      break;
  }
  // The gradient collectives stage one bucket at a time (dist/buckets.h), in float32.
  if (N > 1) plan.collective_buffer = std::min(dist::kBucketElements, trainable) * 4;
  plan.gradients += plan.collective_buffer;
  plan.runtime = target.gpu ? kGpuRuntimeBytes : kCpuRuntimeBytes;
  if (config.micro_batch_size == 0 && target.gpu && target.device_memory_bytes > 0) {
    const int64_t left =
        target.device_memory_bytes - plan.weights - plan.optimizer - plan.runtime - plan.gradients;
    shape.micro_batch_sequences = auto_micro_batch(config, policy, target, left);
    plan.micro_batch_from_budget = true;
  }
  plan.micro_batch_sequences = shape.micro_batch_sequences;
  const UpdateBytes update = update_bytes(config, policy, shape);
  plan.head_gradient = update.head_gradient;
  plan.activations_without_checkpointing = update.without_checkpointing;
  plan.activations_with_checkpointing = update.with_checkpointing;
  plan.activations = update.chosen(config.gradient_checkpointing);

  const int64_t kv_per_prompt = prompt_kv_bytes(policy, config, b, config.max_prompt_length);
  plan.kv_cache_all_rows = kv_per_prompt * std::max(1, config.per_device_train_batch_size);
  // The engine's budget is a share of what the resident state leaves free on the device.
  int64_t budget = 0;
  if (target.device_memory_bytes > 0) {
    const int64_t resident = plan.weights + plan.optimizer + plan.runtime;
    // At least one byte: a known device with no room left means one prompt at a time, not
    // "no budget known".
    budget = std::max<int64_t>(
        1, static_cast<int64_t>(
               config.rollout_memory_fraction *
               static_cast<double>(std::max<int64_t>(0, target.device_memory_bytes - resident))));
  }
  plan.rollout_prompts_per_batch =
      rollout_prompts_per_batch(policy, config, b, config.max_prompt_length, budget);
  plan.kv_cache = kv_per_prompt * plan.rollout_prompts_per_batch;

  plan.total = plan.weights + plan.optimizer + plan.runtime +
               std::max(plan.kv_cache, plan.gradients + plan.activations);
  plan.fits = target.device_memory_bytes <= 0 || plan.total <= target.device_memory_bytes;
  return plan;
}

namespace {

std::string gib(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GiB", static_cast<double>(bytes) / kGiB);
  return text;
}

}  // namespace

std::string plan_report(const MemoryPlan& plan, const PlanTarget& target) {
  std::string text;
  auto line = [&](const char* name, int64_t bytes, const std::string& note = "") {
    char row[160];
    std::snprintf(row, sizeof row, "  %-12s %12s%s%s\n", name, gib(bytes).c_str(),
                  note.empty() ? "" : "  ", note.c_str());
    text += row;
  };
  text += "per rank (" + std::to_string(target.nproc) + (target.nproc == 1 ? " rank" : " ranks") +
          ", " + (target.gpu ? "GPU" : "CPU") + "), " + std::to_string(plan.parameters) +
          " policy parameters, " + std::to_string(plan.trainable_parameters) + " trained:\n";
  line("weights", plan.weights);
  line("gradients", plan.gradients);
  line("optimizer", plan.optimizer);
  line("activations", plan.activations,
       "(" + std::to_string(plan.micro_batch_sequences) + " sequences per micro-batch" +
           (plan.micro_batch_from_budget ? ", picked to fit" : "") + "; " +
           gib(plan.activations_without_checkpointing) + " without checkpointing, " +
           gib(plan.activations_with_checkpointing) + " with; lm_head gradient " +
           gib(plan.head_gradient) + ")");
  if (plan.collective_buffer > 0)
    text += "  (gradients include the collectives' staging bucket, " + gib(plan.collective_buffer) +
            ")\n";
  line("kv_cache", plan.kv_cache,
       "(" + std::to_string(plan.rollout_prompts_per_batch) + " prompts per rollout batch; all " +
           "rows at once: " + gib(plan.kv_cache_all_rows) + ")");
  line("runtime", plan.runtime);
  line("total", plan.total);
  if (target.device_memory_bytes > 0) {
    text += std::string(plan.fits ? "fits" : "does NOT fit") + " in " +
            gib(target.device_memory_bytes) + " per rank\n";
  }
  return text;
}

std::string plan_json(const MemoryPlan& plan, const PlanTarget& target) {
  nlohmann::ordered_json json;
  json["per_rank_bytes"] = {{"weights", plan.weights},     {"gradients", plan.gradients},
                            {"optimizer", plan.optimizer}, {"activations", plan.activations},
                            {"kv_cache", plan.kv_cache},   {"runtime", plan.runtime},
                            {"total", plan.total}};
  json["activations_without_checkpointing"] = plan.activations_without_checkpointing;
  json["activations_with_checkpointing"] = plan.activations_with_checkpointing;
  json["kv_cache_all_rows"] = plan.kv_cache_all_rows;
  json["micro_batch_sequences"] = plan.micro_batch_sequences;
  json["micro_batch_from_budget"] = plan.micro_batch_from_budget;
  json["head_gradient"] = plan.head_gradient;
  json["collective_buffer"] = plan.collective_buffer;
  json["rollout_prompts_per_batch"] = plan.rollout_prompts_per_batch;
  json["parameters"] = plan.parameters;
  json["trainable_parameters"] = plan.trainable_parameters;
  json["nproc"] = target.nproc;
  json["device"] = target.gpu ? "gpu" : "cpu";
  if (target.device_memory_bytes > 0) {
    json["device_memory_bytes"] = target.device_memory_bytes;
    json["fits"] = plan.fits;
  }
  return json.dump(2) + "\n";
}

}  // namespace empo::rl
