#include "empo/rl/update.h"

#include <gtest/gtest.h>

namespace empo::rl {

namespace {

TrainSample sample_of(const std::vector<int64_t>& prompt, std::vector<int64_t> completion,
                      bool truncated) {
  TrainSample sample;
  sample.prompt = &prompt;
  sample.completion = std::move(completion);
  sample.truncated = truncated;
  return sample;
}

}  // namespace

TEST(Pack, RowsPredictTheirCompletionAndMaskTruncatedOnesWhenAsked) {
  const std::vector<int64_t> prompt{5, 6};
  std::vector<TrainSample> samples{sample_of(prompt, {7, 8, 9}, false),
                                   sample_of(prompt, {3}, true)};
  auto rows = sample_rows(samples, 0, 2);
  auto kept = pack(rows, /*mask_truncated=*/false, at::kCPU);
  EXPECT_EQ(kept.K, 3);
  EXPECT_TRUE(kept.input_ids[0].equal(at::tensor({5, 6, 7, 8, 9}, at::kLong)));
  EXPECT_TRUE(kept.attention_mask[1].equal(at::tensor({1, 1, 1, 0, 0}, at::kLong)));
  // Token k of row r is predicted by position P - 1 + k.
  EXPECT_EQ(kept.predicting[0].item<int64_t>(), 1);
  EXPECT_EQ(kept.predicting[3].item<int64_t>(), 5 + 1);
  EXPECT_TRUE(kept.mask.equal(at::tensor({1.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f}).view({2, 3})));
  // mask_truncated_completions: the truncated row contributes no token to the loss.
  auto masked = pack(rows, /*mask_truncated=*/true, at::kCPU);
  EXPECT_TRUE(masked.mask.equal(at::tensor({1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f}).view({2, 3})));
}

TEST(CountStep, MaskedTruncatedCompletionsCountNoTokens) {
  const std::vector<int64_t> prompt{1};
  std::vector<TrainSample> samples{sample_of(prompt, {2, 3}, false), sample_of(prompt, {4}, true),
                                   sample_of(prompt, {5, 6, 7}, false),
                                   sample_of(prompt, {8}, false)};
  auto plan = plan_updates(2, {2, 1, 2, 0});  // one step, two chunks of one group each
  auto counts = count_step(samples, plan[0], /*mask_truncated=*/true);
  EXPECT_EQ(counts.chunk_tokens, (std::vector<double>{2, 4}));
  EXPECT_EQ(counts.tokens, 6);
  EXPECT_EQ(counts.sequences, 4);
  EXPECT_EQ(count_step(samples, plan[0], false).tokens, 7);
}

TEST(LossNormalizers, BnpoIsThisProcessChunkTokenMeanAveragedLikeTrl) {
  TrainConfig config;
  config.loss_type = LossType::bnpo;
  StepCounts local{{10, 30}, 40, 4};
  StepCounts global{{0, 0}, 100, 8};  // two processes
  // TRL: sum / (local chunk tokens), divided by the accumulation steps, averaged over ranks.
  EXPECT_EQ(loss_normalizers(config, global, local, 0, 2).tokens, 10 * 2 * 2);
  EXPECT_EQ(loss_normalizers(config, global, local, 1, 2).tokens, 30 * 2 * 2);
  config.loss_type = LossType::dapo;  // a token mean over every process and chunk
  EXPECT_EQ(loss_normalizers(config, global, local, 1, 2).tokens, 100);
  EXPECT_EQ(loss_normalizers(config, global, local, 1, 2).sequences, 8);
}

TEST(LossSettings, UpperClipComesFromEpsilonHigh) {
  TrainConfig config;
  config.epsilon = 3e-4;
  config.epsilon_high = 4e-4;
  config.beta = 0.01;
  config.loss_type = LossType::gspo;
  auto settings = loss_settings(config);
  EXPECT_EQ(settings.epsilon, 3e-4);
  EXPECT_EQ(settings.epsilon_high, 4e-4);
  EXPECT_EQ(settings.beta, 0.01);
  EXPECT_EQ(settings.type, LossType::gspo);
}

TEST(OldLogprobs, NeededWheneverABatchFeedsMoreThanOneUpdate) {
  TrainConfig config;
  EXPECT_FALSE(needs_old_logprobs(config));
  config.steps_per_generation = 8;  // the GSPO recipe: 8 mini-batches, num_iterations 1
  EXPECT_TRUE(needs_old_logprobs(config));
  config.steps_per_generation = 1;
  config.num_iterations = 2;
  EXPECT_TRUE(needs_old_logprobs(config));
}

}  // namespace empo::rl
