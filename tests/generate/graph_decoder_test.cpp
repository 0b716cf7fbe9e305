#include "empo/generate/graph_decoder.h"

#include <gtest/gtest.h>

#include "empo/generate/engine.h"
#include "test_support.h"

namespace empo::generate {

TEST(GraphDecoder, BucketsArePowersOfTwoUpToTheMost) {
  EXPECT_EQ(bucket_size(1, 24), 1);
  EXPECT_EQ(bucket_size(3, 24), 4);
  EXPECT_EQ(bucket_size(8, 24), 8);
  EXPECT_EQ(bucket_size(9, 24), 16);
  EXPECT_EQ(bucket_size(17, 24), 24);
  EXPECT_EQ(bucket_size(24, 24), 24);
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

// A session keeps the pool and the decoders across calls: the same samples as calls without
// it, one decoder per sampling setting, the pool kept while it is large enough and replaced
// by a larger one when a call needs it. Rows whose context grows read more blocks, so more
// than one block-count bucket is built.
TEST(GraphDecoder, ASessionKeepsThePoolAndDecodersAcrossCalls) {
  auto model = model::load_model(test::fixture("qwen2-tiny"));
  std::vector<std::vector<int64_t>> prompts = {{5, 9, 31}, {7}, {100, 200, 300, 400, 12, 13}};
  GenerationConfig config;
  config.max_new_tokens = 19;
  config.num_samples = 2;
  config.prompts_per_batch = 3;
  config.block_size = 4;
  config.sync_steps = 4;
  config.seed = 9;
  const auto eager = generate(model, prompts, config);
  DecodeSession session;
  EXPECT_EQ(session.pool_blocks(), 0);
  config.cuda_graphs = true;
  config.session = &session;
  for (int call = 0; call < 2; ++call) {
    auto samples = generate(model, prompts, config);
    ASSERT_EQ(samples.size(), eager.size());
    for (size_t i = 0; i < eager.size(); ++i)
      EXPECT_EQ(samples[i].tokens, eager[i].tokens) << "call " << call << ", sample " << i;
  }
  const int64_t kept = session.pool_blocks();
  EXPECT_GT(kept, 0);
  EXPECT_EQ(session.decoders(), 1);
  EXPECT_GT(session.buckets(), 1) << "every window read the same number of blocks";
  EXPECT_EQ(session.captured_buckets(), 0);  // off CUDA the buckets run eagerly
  // Greedy is another decoder over the same pool.
  auto greedy = config;
  greedy.sampling.temperature = 0.0;
  auto greedy_session = generate(model, prompts, greedy);
  greedy.session = nullptr;
  auto greedy_alone = generate(model, prompts, greedy);
  for (size_t i = 0; i < greedy_alone.size(); ++i)
    EXPECT_EQ(greedy_session[i].tokens, greedy_alone[i].tokens) << i;
  EXPECT_EQ(session.decoders(), 2);
  EXPECT_EQ(session.pool_blocks(), kept);
  // A longer prompt needs a larger pool: it replaces the kept one (and its decoders).
  prompts.push_back(std::vector<int64_t>(200, 42));
  auto longer = generate(model, prompts, config);
  EXPECT_EQ(longer.size(), prompts.size() * 2);
  EXPECT_GT(session.pool_blocks(), kept);
  EXPECT_EQ(session.decoders(), 1);
}

}  // namespace empo::generate
