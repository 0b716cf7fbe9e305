#include "empo/generate/graph_decoder.h"

#include <gtest/gtest.h>

#include "empo/generate/engine.h"
#include "test_support.h"

namespace empo::generate {

TEST(GraphDecoder, BucketsArePowersOfTwoUpToTheMostRows) {
  EXPECT_EQ(bucket_rows(1, 24), 1);
  EXPECT_EQ(bucket_rows(3, 24), 4);
  EXPECT_EQ(bucket_rows(8, 24), 8);
  EXPECT_EQ(bucket_rows(9, 24), 16);
  EXPECT_EQ(bucket_rows(17, 24), 24);
  EXPECT_EQ(bucket_rows(24, 24), 24);
}

// The bucketed path (padding rows, buffers refilled per window) against the eager loop: the
// same tokens and the same log-probabilities, greedy and sampled, with rows finishing at
// different steps so buckets shrink. Off CUDA nothing is captured.
TEST(GraphDecoder, DecodesWhatTheEagerLoopDecodes) {
  auto model = model::load_model(test::fixture("qwen2-tiny"));
  std::vector<std::vector<int64_t>> prompts = {{5, 9, 31}, {7}, {100, 200, 300, 400, 12, 13}};
  for (bool greedy : {true, false}) {
    GenerationConfig config;
    config.max_new_tokens = 19;
    config.num_samples = 3;
    config.prompts_per_batch = 3;
    config.sync_steps = 4;
    config.seed = 5;
    config.eos_token_ids = {3, 40, 77, 200, 301, 17};
    if (greedy) config.sampling.temperature = 0.0;
    auto eager = generate(model, prompts, config);
    config.cuda_graphs = true;
    GenerationStats stats;
    auto graphed = generate(model, prompts, config, nullptr, {}, &stats);
    EXPECT_EQ(stats.captured_graphs, 0);
    ASSERT_EQ(graphed.size(), eager.size());
    bool lengths_differ = false;
    for (size_t i = 0; i < eager.size(); ++i) {
      EXPECT_EQ(graphed[i].tokens, eager[i].tokens) << "greedy " << greedy << ", sample " << i;
      ASSERT_EQ(graphed[i].policy_logprobs.size(), eager[i].policy_logprobs.size());
      for (size_t t = 0; t < eager[i].policy_logprobs.size(); ++t) {
        EXPECT_NEAR(graphed[i].policy_logprobs[t], eager[i].policy_logprobs[t], 1e-5);
        EXPECT_NEAR(graphed[i].sampling_logprobs[t], eager[i].sampling_logprobs[t], 1e-5);
      }
      lengths_differ |= eager[i].tokens.size() != eager[0].tokens.size();
    }
    EXPECT_TRUE(greedy || lengths_differ) << "no row stopped early: the buckets never shrank";
  }
}

}  // namespace empo::generate
