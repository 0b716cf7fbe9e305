#include "empo/generate/judge_scorer.h"

#include <gtest/gtest.h>

#include "cli/tiny_policy.h"
#include "empo/reward/judge.h"

namespace empo::generate {

TEST(JudgeScorer, BatchedScoresEqualOnePromptAtATime) {
  auto policy = load_policy(test::tiny_policy(test::temp_dir("judge_scorer")), {});
  // Different lengths, so the batch is left-padded; 5 prompts in batches of 2 (a short last one).
  const std::vector<std::string> prompts = {"Is 1 equal to 1?", "Same?", "Q|red|blue|",
                                            "A much longer prompt that is padded least of all?",
                                            "x"};
  for (bool chat_turn : {true, false}) {
    auto batched = yes_no_batch_scorer(policy, chat_turn, 2)(prompts);
    auto single = yes_no_scorer(policy, chat_turn);  // one forward pass per prompt
    ASSERT_EQ(batched.size(), prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
      auto [yes, no] = single(prompts[i]);
      EXPECT_NEAR(batched[i].first, yes, 1e-4) << prompts[i] << " chat " << chat_turn;
      EXPECT_NEAR(batched[i].second, no, 1e-4) << prompts[i] << " chat " << chat_turn;
    }
  }
  // Raw and chat prompts differ (the chat template wraps the turn), so the scores do too.
  auto raw = yes_no_batch_scorer(policy, false)({prompts[0]});
  auto chat = yes_no_batch_scorer(policy, true)({prompts[0]});
  EXPECT_NE(raw[0].first, chat[0].first);
}

}  // namespace empo::generate
