#include "empo/eval/truthfulqa.h"

#include <gtest/gtest.h>

#include <cmath>

#include "empo/io/error.h"
#include "empo/text/tokenizer_writer.h"
#include "test_support.h"

namespace empo::eval {
namespace {

// One token per printable ASCII character.
text::Tokenizer char_tokenizer() {
  std::string dir = test::temp_dir("truthfulqa_tokenizer");
  text::CharVocabulary vocabulary;
  vocabulary.characters.clear();
  for (char c = 32; c < 127; ++c) vocabulary.characters.push_back(c);
  text::write_char_tokenizer(dir, vocabulary);
  return text::Tokenizer::load(dir);
}

data::TruthfulQaItem item() {
  data::TruthfulQaItem result;
  result.id = "t:2";
  result.question = "Why?";
  result.best_answer = "ab";
  result.correct_answers = {"ab", "b"};
  result.incorrect_answers = {"aaa", "c"};
  return result;
}

}  // namespace

TEST(TruthfulQaMc, PromptFormat) {
  EXPECT_EQ(truthfulqa_context("Why?"), "Q: Why?\nA:");
  EXPECT_EQ(truthfulqa_continuation("Because."), " Because.");
}

TEST(TruthfulQaMc, Mc1NeedsTheBestAnswerAboveEveryIncorrectOne) {
  EXPECT_EQ(mc_scores(-1.0, {-1.0, -3.0}, {-2.0, -5.0}).mc1, 1.0);
  EXPECT_EQ(mc_scores(-1.0, {-1.0}, {-2.0, -0.5}).mc1, 0.0);
  EXPECT_EQ(mc_scores(-2.0, {-2.0}, {-2.0}).mc1, 0.0);  // a tie is not a win
}

TEST(TruthfulQaMc, Mc2IsTheNormalisedCorrectMass) {
  // e^-1 + e^-2 over that plus e^-3: by hand.
  const double expected =
      (std::exp(-1.0) + std::exp(-2.0)) / (std::exp(-1.0) + std::exp(-2.0) + std::exp(-3.0));
  EXPECT_NEAR(mc_scores(-1.0, {-1.0, -2.0}, {-3.0}).mc2, expected, 1e-15);
  EXPECT_DOUBLE_EQ(mc_scores(0, {-4.0}, {-4.0}).mc2, 0.5);
  // Far below exp's range (e^-2000 is 0 in double): the shift keeps the ratio, 1/(1+e^-1).
  EXPECT_NEAR(mc_scores(0, {-2000.0}, {-2001.0}).mc2, 1.0 / (1.0 + std::exp(-1.0)), 1e-15);
  EXPECT_THROW(mc_scores(0, {}, {-1.0}), std::invalid_argument);
}

TEST(TruthfulQaMc, ContinuationTokensArePastTheContext) {
  auto tokenizer = char_tokenizer();
  auto sequence = continuation_sequence(tokenizer, "Q: x A:", " yz");  // 7 + 3 characters
  EXPECT_EQ(sequence.context_tokens, 7u);
  EXPECT_EQ(sequence.ids.size(), 10u);
  // Log-probs of tokens 1..9; the continuation is tokens 7, 8, 9 (entries 6, 7, 8).
  std::vector<float> logprobs = {-100, -100, -100, -100, -100, -100, -1, -2, -4};
  EXPECT_EQ(continuation_score(logprobs, sequence.context_tokens), -7.0);
}

TEST(TruthfulQaMc, EvaluatesItemsWithAPluggedScorer) {
  auto tokenizer = char_tokenizer();
  // A stand-in model: token x_t costs its character's distance from 'a' (so "b" beats "c"),
  // which makes every score computable by hand.
  size_t calls = 0;
  SequenceLogprobs logprobs = [&](const std::vector<std::vector<int64_t>>& batch) {
    ++calls;
    std::vector<std::vector<float>> result;
    for (const auto& ids : batch) {
      std::vector<float> row;
      for (size_t t = 1; t < ids.size(); ++t) {
        std::string piece = tokenizer.decode({static_cast<text::TokenId>(ids[t])}, true);
        row.push_back(piece == " " ? -0.5f : -static_cast<float>(std::abs(piece[0] - 'a')));
      }
      result.push_back(row);
    }
    return result;
  };
  size_t progress = 0;
  auto results =
      evaluate_truthfulqa_mc({item(), item()}, tokenizer, logprobs, [&](size_t done, size_t total) {
        EXPECT_EQ(total, 2u);
        progress = done;
      });
  EXPECT_EQ(calls, 2u);  // one batch per question
  EXPECT_EQ(progress, 2u);
  ASSERT_EQ(results.size(), 2u);
  const auto& r = results[0];
  // " ab" = -0.5 + 0 - 1; " b" = -1.5; " aaa" = -0.5; " c" = -2.5.
  EXPECT_DOUBLE_EQ(r.best_score, -1.5);
  EXPECT_EQ(r.correct_scores, (std::vector<double>{-1.5, -1.5}));
  EXPECT_EQ(r.incorrect_scores, (std::vector<double>{-0.5, -2.5}));
  EXPECT_EQ(r.mc.mc1, 0.0);  // "aaa" outscores the best answer
  const double correct = 2 * std::exp(-1.5), incorrect = std::exp(-0.5) + std::exp(-2.5);
  EXPECT_NEAR(r.mc.mc2, correct / (correct + incorrect), 1e-12);

  auto record = to_json(r, item());
  EXPECT_EQ(record["id"], "t:2");
  EXPECT_EQ(record["mc1"], 0.0);
  EXPECT_EQ(record["incorrect_answers"][0]["answer"], "aaa");
  EXPECT_EQ(record["incorrect_answers"][0]["score"], -0.5);
  auto summary = truthfulqa_summary(results);
  EXPECT_EQ(summary["truthfulqa/mc1"], 0.0);
  EXPECT_NEAR(summary["truthfulqa/mc2"].get<double>(), r.mc.mc2, 1e-15);
  EXPECT_EQ(summary["truthfulqa/questions"], 2);
}

TEST(TruthfulQaJudge, TruthfulMeansSomeCorrectAndNoIncorrectMatch) {
  // A stand-in judge on "question|a|b" prompts: b matches a when it contains a's text.
  long calls = 0;
  std::vector<std::string> sent;
  reward::YesNoBatchScorer scorer = [&](const std::vector<std::string>& prompts) {
    ++calls;
    std::vector<reward::YesNoLogProbs> scores;
    for (const auto& prompt : prompts) {
      sent.push_back(prompt);
      const size_t first = prompt.find('|'), second = prompt.find('|', first + 1);
      const std::string a = prompt.substr(first + 1, second - first - 1);
      const std::string b = prompt.substr(second + 1);
      scores.push_back(b.find(a) != std::string::npos ? reward::YesNoLogProbs{-0.1, -3}
                                                      : reward::YesNoLogProbs{-3, -0.1});
    }
    return scores;
  };
  reward::JudgeConfig config;
  config.mode = reward::JudgeMode::one_way;
  config.prompt_template = "{question}|{a}|{b}";
  const std::vector<data::TruthfulQaItem> items(4, item());  // correct ab, b; incorrect aaa, c
  const std::vector<std::string> answers = {"it is b", "b or c", "", "ab"};
  reward::JudgeClusteringStats stats;
  auto judged = judge_truthfulness(items, answers, scorer, config, &stats);
  ASSERT_EQ(judged.size(), 4u);
  EXPECT_TRUE(judged[0].truthful);  // matches "b", not "aaa" nor "c"
  EXPECT_EQ(judged[0].matches_correct, (std::vector<bool>{false, true}));
  EXPECT_EQ(judged[0].matches_incorrect, (std::vector<bool>{false, false}));
  EXPECT_FALSE(judged[1].truthful);  // also matches the incorrect "c"
  EXPECT_EQ(judged[1].matches_incorrect, (std::vector<bool>{false, true}));
  EXPECT_FALSE(judged[2].truthful);  // empty: matches nothing, never sent
  EXPECT_EQ(judged[2].matches_correct, (std::vector<bool>{false, false}));
  EXPECT_TRUE(judged[3].truthful);  // identical to "ab" (no call), contains "b"
  EXPECT_EQ(calls, 1);              // every pair of every question in one call
  EXPECT_EQ(stats.prompts, 4 + 4 + 3);
  EXPECT_EQ(sent[0], "Why?|ab|it is b");  // the reference is {a}, the model's answer {b}
  // The record and the summary.
  TruthfulQaResult result;
  result.id = "t:2";
  result.question = "Why?";
  result.correct_scores = {-1, -2};
  result.incorrect_scores = {-3, -4};
  auto record = to_json(result, items[0], &judged[1]);
  EXPECT_EQ(record["answer"], "b or c");
  EXPECT_EQ(record["judge_truthful"], false);
  EXPECT_EQ(record["incorrect_answers"][1]["judge_match"], true);
  EXPECT_FALSE(to_json(result, items[0]).contains("judge_truthful"));
  const std::vector<TruthfulQaResult> results(4, result);
  auto summary = truthfulqa_summary(results, &judged);
  EXPECT_DOUBLE_EQ(summary["truthfulqa/judge_truthful"].get<double>(), 0.5);
  EXPECT_FALSE(truthfulqa_summary(results).contains("truthfulqa/judge_truthful"));
  // Bidirectional: the answer must also entail back ("b" does not contain "it is b").
  config.mode = reward::JudgeMode::bidirectional;
  judged = judge_truthfulness(items, answers, scorer, config);
  EXPECT_FALSE(judged[0].truthful);
  EXPECT_TRUE(judged[3].truthful);
}

}  // namespace empo::eval
