#include "empo/generate/engine.h"

#include <gtest/gtest.h>

#include "empo/io/error.h"

#include "empo/model/logprobs.h"
#include "empo/model/runtime.h"
#include "empo/model/transformer.h"
#include "model/golden.h"

namespace empo::generate {

namespace {

// The real tokens of each left-padded golden prompt.
std::vector<std::vector<int64_t>> golden_prompts(std::map<std::string, at::Tensor>& goldens) {
  auto ids = goldens["left_pad.input_ids"];
  auto mask = goldens["left_pad.attention_mask"];
  std::vector<std::vector<int64_t>> prompts(ids.size(0));
  for (int64_t b = 0; b < ids.size(0); ++b)
    for (int64_t t = 0; t < ids.size(1); ++t)
      if (mask[b][t].item<int64_t>()) prompts[b].push_back(ids[b][t].item<int64_t>());
  return prompts;
}

// The prompts and settings of tests/generate/static_engine_samples.json: tokens drawn by the
// engine before continuous batching (a static batch per 6 prompts, each prompt's keys/values
// copied into its samples), kept to show the paged engine draws the same samples.
std::vector<std::vector<int64_t>> static_engine_prompts() {
  std::vector<std::vector<int64_t>> prompts;
  const int lengths[] = {3, 9, 17, 5, 26, 1};
  for (int i = 0; i < 6; ++i) {
    std::vector<int64_t> prompt;
    for (int t = 0; t < lengths[i]; ++t) prompt.push_back((i * 97 + t * 31 + 11) % 512);
    prompts.push_back(prompt);
  }
  return prompts;
}

GenerationConfig static_engine_config() {
  GenerationConfig config;
  config.max_new_tokens = 20;
  config.num_samples = 4;
  config.seed = 11;
  config.prompts_per_batch = 6;
  config.sampling.temperature = 0.9;
  config.sampling.top_p = 0.95;
  config.sampling.top_k = 64;
  config.eos_token_ids = {3, 40, 77, 200, 301};
  return config;
}

}  // namespace

// However rows are admitted, synced or preempted, every sample is the one the static engine
// drew for its (seed, prompt, sample).
TEST(Engine, DrawsTheStaticEnginesSamplesUnderAnyScheduling) {
  auto expected = nlohmann::json::parse(
      test::read_text(test::source_path("tests/generate/static_engine_samples.json")));
  struct Schedule {
    const char* name;
    int64_t prompts_per_batch, sync_steps, budget_blocks;
    bool graphs = false;  // GraphDecoder's bucketed buffers (run eagerly on CPU)
  };
  const Schedule schedules[] = {
      {"all rows at once", 6, 1, 0},
      {"one prompt's rows at a time", 1, 1, 0},
      {"two prompts, sync every 5 steps", 2, 5, 0},
      {"a pool of 16 blocks: rows are preempted", 6, 3, 16},
      {"decode graphs, three prompts, sync every 4 steps", 3, 4, 0, true},
      {"decode graphs and preemptions", 6, 3, 16, true},
  };
  for (const char* family : {"qwen2", "qwen3"}) {
    auto model = model::load_model(test::fixture(std::string(family) + "-tiny"));
    for (const auto& schedule : schedules) {
      auto config = static_engine_config();
      config.prompts_per_batch = schedule.prompts_per_batch;
      config.sync_steps = schedule.sync_steps;
      config.block_size = 4;
      config.kv_budget_bytes = schedule.budget_blocks * 4 * model::slot_bytes(model);
      config.cuda_graphs = schedule.graphs;
      GenerationStats stats;
      auto samples = generate(model, static_engine_prompts(), config, nullptr, {}, &stats);
      ASSERT_EQ(samples.size(), expected[family].size());
      for (size_t i = 0; i < samples.size(); ++i) {
        EXPECT_EQ(samples[i].tokens, expected[family][i].get<std::vector<int64_t>>())
            << family << ", " << schedule.name << ", sample " << i;
        EXPECT_EQ(samples[i].prompt_index, static_cast<int64_t>(i / 4));
        EXPECT_EQ(samples[i].sample_index, static_cast<int64_t>(i % 4));
        EXPECT_EQ(samples[i].policy_logprobs.size(), samples[i].tokens.size());
      }
      if (schedule.budget_blocks > 0) {
        EXPECT_GT(stats.preemptions, 0) << family;
        EXPECT_LE(stats.kv_cache_bytes, config.kv_budget_bytes);
      }
    }
  }
}

// A prompt's keys/values are stored once for its G samples: the cache holds about one prompt
// plus G completions, not G copies of the prompt.
TEST(Engine, PromptKeysValuesAreStoredOnceForAllSamples) {
  auto model = model::load_model(test::fixture("qwen2-tiny"));
  std::vector<int64_t> prompt;
  for (int64_t t = 0; t < 512; ++t) prompt.push_back((t * 37 + 5) % 512);
  GenerationConfig config;
  config.max_new_tokens = 32;
  config.num_samples = 8;
  config.seed = 3;
  GenerationStats stats;
  auto samples = generate(model, {prompt}, config, nullptr, {}, &stats);
  for (const auto& sample : samples) ASSERT_EQ(sample.tokens.size(), 32u);  // no EOS
  const int64_t per_token = model::slot_bytes(model);
  const int64_t shared = (512 + 8 * 32) * per_token;
  // Blocks round each sequence up to 16 slots, plus one step of lookahead per row.
  EXPECT_GE(stats.kv_cache_bytes, shared);
  EXPECT_LE(stats.kv_cache_bytes, shared + 8 * 2 * 16 * per_token);
  EXPECT_LT(stats.kv_cache_bytes * 4, 8 * (512 + 32) * per_token);  // copying would take 8 prompts
}

TEST(Engine, RejectsAnEmptyPromptAndABudgetBelowOneSample) {
  auto model = model::load_model(test::fixture("qwen2-tiny"));
  GenerationConfig config;
  config.max_new_tokens = 64;
  EXPECT_THROW(generate(model, {{1, 2}, {}}, config), InputError);
  config.kv_budget_bytes = 32 * model::slot_bytes(model);  // 2 blocks: not prompt + 64 tokens
  try {
    generate(model, {{1, 2, 3}}, config);
    FAIL() << "expected an InputError";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("rollout_memory_fraction"), std::string::npos);
  }
}

class GreedyGolden : public ::testing::TestWithParam<test::GoldenCase> {};

TEST_P(GreedyGolden, MatchesTransformersExactly) {
  auto model = test::load_golden_model(GetParam());
  auto goldens = test::load_goldens(GetParam().family);
  auto expected = goldens["greedy.new_tokens"];  // (B, 24)
  GenerationConfig config;
  config.max_new_tokens = expected.size(1);
  config.sampling.greedy = true;
  for (int64_t prompts_per_batch : {1, 3}) {  // alone and batched with left padding
    config.prompts_per_batch = prompts_per_batch;
    auto samples = generate(model, golden_prompts(goldens), config);
    ASSERT_EQ(samples.size(), 3u);
    for (int64_t b = 0; b < 3; ++b) {
      auto row = expected[b].contiguous();
      std::vector<int64_t> want(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
      EXPECT_EQ(samples[b].tokens, want) << "row " << b << " batch " << prompts_per_batch;
      EXPECT_EQ(samples[b].finish, FinishReason::kLength);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, GreedyGolden, ::testing::ValuesIn(test::golden_cases()),
                         test::golden_case_name<::testing::TestParamInfo<test::GoldenCase>>);

TEST(Engine, SampleDoesNotDependOnTheBatchAroundIt) {
  auto model = model::load_model(test::fixture("qwen2-tiny"));
  auto goldens = test::load_goldens("qwen2");
  auto prompts = golden_prompts(goldens);
  GenerationConfig config;
  config.max_new_tokens = 12;
  config.num_samples = 4;
  config.seed = 7;
  config.prompts_per_batch = 3;
  config.eos_token_ids = {5, 17};  // some samples stop early, so rows get compacted
  auto batched = generate(model, prompts, config, nullptr, {100, 101, 102});
  config.prompts_per_batch = 1;
  auto alone = generate(model, {prompts[1]}, config, nullptr, {101});
  for (int64_t j = 0; j < 4; ++j) {
    EXPECT_EQ(alone[j].tokens, batched[4 + j].tokens) << j;
    EXPECT_EQ(alone[j].finish, batched[4 + j].finish);
  }
  // The G samples of a prompt differ from one another (independent streams).
  EXPECT_NE(batched[4].tokens, batched[5].tokens);
}

TEST(Engine, ReportedLogprobsMatchTeacherForcedScoring) {
  auto model = model::load_model(test::fixture("qwen3-tiny"));
  auto goldens = test::load_goldens("qwen3");
  auto prompts = golden_prompts(goldens);
  GenerationConfig config;
  config.max_new_tokens = 10;
  config.num_samples = 2;
  config.sampling.temperature = 1.0;
  GenerationStats stats;
  auto samples = generate(model, prompts, config, nullptr, {}, &stats);
  EXPECT_GT(stats.kv_cache_bytes, 0);
  EXPECT_EQ(stats.generated_tokens, 3 * 2 * 10);
  for (const auto& sample : samples) {
    auto sequence = prompts[sample.prompt_index];
    sequence.insert(sequence.end(), sample.tokens.begin(), sample.tokens.end());
    auto scored = model::sequence_logprobs(model, {sequence})[0];
    const size_t offset = prompts[sample.prompt_index].size() - 1;
    for (size_t t = 0; t < sample.tokens.size(); ++t) {
      EXPECT_NEAR(sample.policy_logprobs[t], scored[offset + t], 1e-4);
      // At T = 1 with no truncation both distributions are the policy.
      EXPECT_NEAR(sample.sampling_logprobs[t], sample.policy_logprobs[t], 1e-5);
    }
  }
}

TEST(Engine, StopsOnEosAndStopStrings) {
  auto model = model::load_model(test::fixture("qwen2-tiny"));
  auto goldens = test::load_goldens("qwen2");
  auto prompts = golden_prompts(goldens);
  auto greedy_row = goldens["greedy.new_tokens"][0];
  GenerationConfig config;
  config.sampling.greedy = true;
  config.max_new_tokens = 24;
  config.eos_token_ids = {greedy_row[5].item<int64_t>()};
  auto samples = generate(model, {prompts[0]}, config);
  ASSERT_LE(samples[0].tokens.size(), 6u);
  EXPECT_EQ(samples[0].tokens.back(), config.eos_token_ids[0]);
  EXPECT_EQ(samples[0].finish, FinishReason::kStop);
  // A stop string over a decoder that spells ids: stop once "<id>" of token 3 appears.
  config.eos_token_ids.clear();
  const int64_t stop_token = greedy_row[3].item<int64_t>();
  config.stop_strings = {"<" + std::to_string(stop_token) + ">"};
  Decoder spell = [](const std::vector<int64_t>& ids) {
    std::string text;
    for (auto id : ids) text += "<" + std::to_string(id) + ">";
    return text;
  };
  samples = generate(model, {prompts[0]}, config, spell);
  EXPECT_EQ(samples[0].tokens.back(), stop_token);
  EXPECT_EQ(samples[0].finish, FinishReason::kStop);
}

// The budget the trainer, `empo generate` and `empo eval` share: a share of the free memory.
TEST(Engine, KvBudgetIsAShareOfTheFreeMemory) {
  const at::Device cpu(at::kCPU);
  EXPECT_EQ(kv_budget_bytes(cpu, 0.0), 0);
  const int64_t quarter = kv_budget_bytes(cpu, 0.25);
  EXPECT_GT(quarter, 0);
  EXPECT_LE(quarter, model::free_device_memory(cpu) / 2);  // free memory moves a little
}

}  // namespace empo::generate
