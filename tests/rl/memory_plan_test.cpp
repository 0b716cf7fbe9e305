#include "empo/rl/memory_plan.h"

#include <gtest/gtest.h>

#include <set>

#include "empo/dist/buckets.h"
#include "empo/model/transformer.h"
#include "empo/model/weights.h"
#include "test_support.h"

namespace empo::rl {
namespace {

model::ModelConfig recipe_model(const std::string& name) {
  return model::load_model_config(test::source_path("configs/models/" + name));
}

TrainConfig cpu_config() {
  TrainConfig config;
  config.model_name_or_path = "unused";
  config.train_file = "unused";
  config.device = "cpu";
  config.num_generations = 4;
  config.per_device_train_batch_size = 2;
  config.max_prompt_length = 16;
  config.max_completion_length = 48;
  return config;
}

}  // namespace

TEST(MemoryPlan, ParameterCountIsWhatTheLoaderAllocates) {
  for (const char* fixture : {"qwen2-tiny", "qwen3-tiny"}) {
    auto loaded = model::load_model(test::fixture(fixture));
    std::set<const void*> seen;  // a tied lm_head is the embedding itself
    int64_t numel = 0;
    for (const auto& parameter : model::parameters(loaded))
      if (seen.insert(parameter.data_ptr()).second) numel += parameter.numel();
    EXPECT_EQ(parameter_count(loaded.config), numel) << fixture;
  }
}

TEST(MemoryPlan, RecipeModelsHaveTheirPublishedSizes) {
  // The model cards: Qwen2.5-Math-7B 7.62B parameters, Qwen2.5-Math-1.5B 1.54B.
  EXPECT_NEAR(parameter_count(recipe_model("Qwen2.5-Math-7B")) / 1e9, 7.62, 0.01);
  EXPECT_NEAR(parameter_count(recipe_model("Qwen2.5-Math-1.5B")) / 1e9, 1.54, 0.01);
  EXPECT_NEAR(parameter_count(recipe_model("Qwen2.5-7B-Instruct")) / 1e9, 7.62, 0.01);
}

TEST(MemoryPlan, KvBytesPerTokenIsWhatTheCacheAllocates) {
  auto loaded = model::load_model(test::fixture("qwen2-tiny"));
  auto kv = model::allocate_kv(loaded, 3, 10);  // 3 rows x 10 slots
  EXPECT_EQ(model::kv_bytes(kv), 3 * 10 * kv_bytes_per_token(loaded.config, 4));
  // 7B in bf16: 28 layers x (keys + values) x 4 heads x 128 dims x 2 bytes.
  EXPECT_EQ(kv_bytes_per_token(recipe_model("Qwen2.5-Math-7B"), 2), 28 * 2 * 4 * 128 * 2);
}

TEST(MemoryPlan, RolloutBatchesShrinkToTheBudget) {
  auto model = recipe_model("Qwen2.5-Math-7B");
  TrainConfig config = cpu_config();
  config.per_device_train_batch_size = 16;
  config.num_generations = 8;
  // One prompt stored once plus its 8 completions.
  const int64_t per_prompt =
      (config.max_prompt_length + 8 * config.max_completion_length) * kv_bytes_per_token(model, 2);
  EXPECT_EQ(prompt_kv_bytes(model, config, 2, config.max_prompt_length), per_prompt);
  EXPECT_EQ(rollout_prompts_per_batch(model, config, 2, config.max_prompt_length, 0), 16);
  EXPECT_EQ(rollout_prompts_per_batch(model, config, 2, config.max_prompt_length, 3 * per_prompt),
            3);
  EXPECT_EQ(
      rollout_prompts_per_batch(model, config, 2, config.max_prompt_length, 3 * per_prompt - 1), 2);
  EXPECT_EQ(rollout_prompts_per_batch(model, config, 2, config.max_prompt_length, 1), 1);
  EXPECT_EQ(
      rollout_prompts_per_batch(model, config, 2, config.max_prompt_length, 1000 * per_prompt), 16);
}

TEST(MemoryPlan, StateTermsFollowTheDtype) {
  auto model = recipe_model("Qwen2.5-Math-1.5B");
  const int64_t P = parameter_count(model);
  TrainConfig config = cpu_config();
  auto cpu = plan_memory(config, model, std::nullopt, {});
  EXPECT_EQ(cpu.weights, 4 * P);
  EXPECT_EQ(cpu.gradients, 4 * P);
  EXPECT_EQ(cpu.optimizer, 8 * P);  // two float32 moments; the weights are their own master
  PlanTarget gpu;
  gpu.gpu = true;
  gpu.fused_attention = true;
  auto bf16 = plan_memory(config, model, std::nullopt, gpu);
  EXPECT_EQ(bf16.weights, 2 * P);
  EXPECT_EQ(bf16.gradients, 2 * P + 4 * P);  // bf16 .grad + float32 accumulation sums
  EXPECT_EQ(bf16.optimizer, 12 * P);         // + float32 master weights
  config.beta = 0.04;                        // the frozen reference is a second copy
  EXPECT_EQ(plan_memory(config, model, std::nullopt, gpu).weights, 4 * P);
  auto with_judge = plan_memory(config, model, recipe_model("Qwen2.5-Math-1.5B"), gpu);
  EXPECT_EQ(with_judge.weights, 6 * P);
}

TEST(MemoryPlan, ZeroStagesShardTheFloat32State) {
  auto model = recipe_model("Qwen2.5-Math-7B");
  const int64_t P = parameter_count(model);
  const int64_t R = (P + 7) / 8;
  TrainConfig config = cpu_config();
  PlanTarget gpu;
  gpu.gpu = true;
  gpu.fused_attention = true;
  gpu.nproc = 8;
  config.zero_stage = 1;
  auto stage1 = plan_memory(config, model, std::nullopt, gpu);
  // The collectives stage one float32 bucket at a time (dist/buckets.h).
  const int64_t bucket = 4 * dist::kBucketElements;
  EXPECT_EQ(stage1.collective_buffer, bucket);
  EXPECT_EQ(stage1.gradients, 2 * P + 4 * P + bucket);
  EXPECT_EQ(stage1.optimizer, 16 * R);  // master, two moments, float32 gradient of a range
  config.zero_stage = 2;
  auto stage2 = plan_memory(config, model, std::nullopt, gpu);
  EXPECT_EQ(stage2.gradients, 2 * P + 4 * R + bucket);
  EXPECT_EQ(stage2.optimizer, 12 * R);
  gpu.nproc = 1;  // one rank owns every range
  EXPECT_EQ(plan_memory(config, model, std::nullopt, gpu).optimizer, 12 * P);
}

TEST(MemoryPlan, LoraTrainsOnlyTheAdapters) {
  auto model = recipe_model("Qwen2.5-Math-7B");
  const int64_t P = parameter_count(model);
  TrainConfig config = cpu_config();
  config.lora_r = 16;
  config.lora_target_modules = {"all-linear"};
  config.beta = 0.04;  // the reference is the base with adapters off: no second copy
  PlanTarget gpu;
  gpu.gpu = true;
  gpu.fused_attention = true;
  auto plan = plan_memory(config, model, std::nullopt, gpu);
  // r x (in + out) per module and layer: 16 x (2(3584+3584) + 2(3584+512) + 3(3584+18944)) x 28.
  const int64_t adapters = int64_t{16} * (2 * 7168 + 2 * 4096 + 3 * 22528) * 28;
  EXPECT_EQ(plan.trainable_parameters, adapters);
  EXPECT_EQ(plan.weights, 2 * P + 2 * adapters);
  EXPECT_EQ(plan.gradients, 6 * adapters);
  EXPECT_EQ(plan.optimizer, 12 * adapters);
  config.lora_r = 0;
  auto full = plan_memory(config, model, std::nullopt, gpu);
  EXPECT_GT(full.optimizer, 180 * plan.optimizer);
  // The adapters' (tokens, r) projections; the frozen head gets no (V, C) gradient.
  EXPECT_GT(plan.activations_without_checkpointing, full.activations_without_checkpointing);
  EXPECT_EQ(plan.head_gradient, 0);
  EXPECT_EQ(full.head_gradient, model.vocab_size * model.hidden_size * 2);  // bf16
  EXPECT_EQ(full.activations, full.activations_without_checkpointing + full.head_gradient);
}

TEST(MemoryPlan, CheckpointingAndFusedAttentionShrinkActivations) {
  auto model = recipe_model("Qwen2.5-Math-7B");
  TrainConfig config = cpu_config();
  config.max_prompt_length = 512;
  config.max_completion_length = 3072;
  config.micro_batch_size = 1;
  PlanTarget gpu;
  gpu.gpu = true;
  gpu.fused_attention = true;
  auto fused = plan_memory(config, model, std::nullopt, gpu);
  EXPECT_LT(fused.activations_with_checkpointing * 4, fused.activations_without_checkpointing);
  gpu.fused_attention = false;
  auto materialised = plan_memory(config, model, std::nullopt, gpu);
  // 28 heads x 3584^2 scores x 2 bytes per layer: ~0.7 GB a layer, ~20 GB over 28; and the
  // math path repeats k and v to every head (2 x 3584 instead of 2 x 512 per token and layer).
  const double scores = 28.0 * 3584 * 3584 * 2 * 28;
  const double repeated_kv = 3584.0 * (2 * 3584 - 2 * 512) * 2;
  EXPECT_NEAR(
      materialised.activations_without_checkpointing - fused.activations_without_checkpointing,
      (scores + repeated_kv * 28) * 29 / 28, 1e6);
  config.gradient_checkpointing = true;
  EXPECT_EQ(plan_memory(config, model, std::nullopt, gpu).activations,
            materialised.activations_with_checkpointing + materialised.head_gradient);
}

TEST(MemoryPlan, TotalAndFit) {
  auto model = recipe_model("Qwen2.5-Math-7B");
  TrainConfig config = cpu_config();
  PlanTarget gpu;
  gpu.gpu = true;
  gpu.fused_attention = true;
  auto unbounded = plan_memory(config, model, std::nullopt, gpu);
  EXPECT_TRUE(unbounded.fits);  // no device size given: nothing to check against
  EXPECT_EQ(unbounded.total,
            unbounded.weights + unbounded.optimizer + unbounded.runtime +
                std::max(unbounded.kv_cache, unbounded.gradients + unbounded.activations));
  gpu.device_memory_bytes = int64_t{80} << 30;
  auto on_80 = plan_memory(config, model, std::nullopt, gpu);
  EXPECT_FALSE(on_80.fits);  // 7.6B x (2 + 12 + 6) bytes > 80 GiB without sharding
  gpu.device_memory_bytes = int64_t{200} << 30;
  EXPECT_TRUE(plan_memory(config, model, std::nullopt, gpu).fits);
  // The KV budget is a share of what the resident state leaves.
  config.per_device_train_batch_size = 256;
  config.max_completion_length = 3072;
  auto budgeted = plan_memory(config, model, std::nullopt, gpu);
  EXPECT_LT(budgeted.rollout_prompts_per_batch, 256);
  EXPECT_LE(budgeted.kv_cache,
            config.rollout_memory_fraction * (gpu.device_memory_bytes - budgeted.weights -
                                              budgeted.optimizer - budgeted.runtime));
  EXPECT_GT(budgeted.kv_cache_all_rows, budgeted.kv_cache);
  // A device the resident state already fills: one prompt at a time, not the whole batch.
  gpu.device_memory_bytes = int64_t{16} << 30;
  EXPECT_EQ(plan_memory(config, model, std::nullopt, gpu).rollout_prompts_per_batch, 1);
}

// micro_batch_size 0 on a GPU: the most sequences whose activations fit beside the resident
// state, not all 112 at once (~90 GB at 7B); on CPU, all of a chunk as before.
TEST(MemoryPlan, MicroBatchZeroOnAGpuIsPickedFromTheMemoryBudget) {
  auto model = recipe_model("Qwen2.5-Math-7B");
  TrainConfig config = cpu_config();
  config.per_device_train_batch_size = 16;
  config.num_generations = 7;
  config.max_prompt_length = 512;
  config.max_completion_length = 3072;
  config.zero_stage = 2;
  PlanTarget gpu;
  gpu.gpu = true;
  gpu.fused_attention = true;
  gpu.nproc = 8;
  gpu.device_memory_bytes = int64_t{80} << 30;
  auto plan = plan_memory(config, model, std::nullopt, gpu);
  EXPECT_TRUE(plan.micro_batch_from_budget);
  EXPECT_GE(plan.micro_batch_sequences, 1);
  EXPECT_LT(plan.micro_batch_sequences, 112);
  EXPECT_TRUE(plan.fits);
  // One more sequence would not fit in what the resident state leaves.
  const int64_t left =
      gpu.device_memory_bytes - plan.weights - plan.optimizer - plan.runtime - plan.gradients;
  EXPECT_EQ(auto_micro_batch(config, model, gpu, left), plan.micro_batch_sequences);
  config.micro_batch_size = static_cast<int>(plan.micro_batch_sequences) + 1;
  EXPECT_GT(plan_memory(config, model, std::nullopt, gpu).activations, left);
  // A budget for everything takes a whole chunk; nothing fits: one sequence at a time.
  EXPECT_EQ(auto_micro_batch(config, model, gpu, int64_t{1} << 50), 112);
  EXPECT_EQ(auto_micro_batch(config, model, gpu, 0), 1);
  config.micro_batch_size = 0;
  auto cpu = plan_memory(config, model, std::nullopt, {});
  EXPECT_FALSE(cpu.micro_batch_from_budget);
  EXPECT_EQ(cpu.micro_batch_sequences, 112);
}

TEST(MemoryPlan, JsonCarriesEveryTerm) {
  auto plan = plan_memory(cpu_config(), recipe_model("Qwen2.5-Math-1.5B"), std::nullopt, {});
  auto json = nlohmann::json::parse(plan_json(plan, {}));
  for (const char* key :
       {"weights", "gradients", "optimizer", "activations", "kv_cache", "runtime", "total"})
    EXPECT_TRUE(json["per_rank_bytes"].contains(key)) << key;
  EXPECT_EQ(json["per_rank_bytes"]["total"].get<int64_t>(), plan.total);
  EXPECT_EQ(json["parameters"].get<int64_t>(), plan.parameters);
}

}  // namespace empo::rl
