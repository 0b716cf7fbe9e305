#include "empo/rl/evaluate.h"

#include <gtest/gtest.h>

#include "empo/eval/metrics.h"
#include "test_support.h"

namespace empo::rl {

TEST(Evaluate, GradesGreedyAndSamplesConsistently) {
  auto policy = generate::load_policy(test::source_path("models/adder"), {});
  std::vector<data::Question> questions;
  for (auto [text, answer] :
       {std::pair{"10+20+30=", "60"}, {"11+22+33+44=", "110"}, {"50+25+13=", "88"}}) {
    data::Question question;
    question.id = text;
    question.text = text;
    question.answers = {answer};
    questions.push_back(question);
  }
  EvalSettings settings;
  settings.prompt.format = text::ChatFormat::raw;
  settings.max_new_tokens = 48;
  settings.samples = 6;
  settings.answer.format = reward::AnswerFormat::hash_dollar;
  settings.equivalence = exact_equivalence();
  auto results = evaluate_questions(policy, questions, settings);
  ASSERT_EQ(results.size(), 3u);
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].greedy.has_value());
    EXPECT_EQ(results[i].greedy->correct, results[i].greedy->answer == questions[i].answers[0]);
    ASSERT_EQ(results[i].samples.size(), 6u);
    for (const auto& a : results[i].samples) {
      EXPECT_EQ(a.correct, a.answer == questions[i].answers[0]);
      for (const auto& b : results[i].samples)
        if (!a.answer.empty()) {
          EXPECT_EQ(a.cluster == b.cluster, a.answer == b.answer) << a.answer << " " << b.answer;
        }
    }
  }
  // The same seed evaluates the same way.
  auto again = evaluate_questions(policy, questions, settings);
  for (size_t i = 0; i < results.size(); ++i)
    for (size_t j = 0; j < 6; ++j) EXPECT_EQ(again[i].samples[j].text, results[i].samples[j].text);
  auto scores = eval::score_benchmark(eval::to_records("adder", results));
  EXPECT_EQ(scores.scores.k, 6u);
}

}  // namespace empo::rl
