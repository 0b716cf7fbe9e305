#include "empo/generate/judge_scorer.h"

#include <gtest/gtest.h>

#include <cmath>

#include "cli/tiny_policy.h"
#include "empo/model/logprobs.h"
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
  // Raw prompts are the prompt's own tokens: the next-token log-probs after encode(prompt),
  // "Yes"/" Yes" pooling the tokens "Y" and " " (teacher-forced, independently of the scorer).
  const std::string prompt = prompts[3];
  auto raw = yes_no_batch_scorer(policy, false)({prompt});
  std::vector<int64_t> ids;
  for (auto id : policy.tokenizer.encode(prompt)) ids.push_back(id);
  auto next = [&](const char* token) {
    auto sequence = ids;
    sequence.push_back(policy.tokenizer.encode(token).at(0));
    return static_cast<double>(model::sequence_logprobs(policy.model, {sequence})[0].back());
  };
  auto pooled = [](double a, double b) { return std::log(std::exp(a) + std::exp(b)); };
  EXPECT_NEAR(raw[0].first, pooled(next("Y"), next(" ")), 1e-4);
  EXPECT_NEAR(raw[0].second, pooled(next("N"), next(" ")), 1e-4);
}

}  // namespace empo::generate
