#include "empo/generate/engine.h"

#include <gtest/gtest.h>

#include "empo/model/logprobs.h"
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

}  // namespace

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

}  // namespace empo::generate
