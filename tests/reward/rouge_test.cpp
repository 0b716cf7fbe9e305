#include "empo/reward/rouge.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace empo::reward {
namespace {

using Tokens = std::vector<std::string>;

TEST(Rouge, TokensAreLowercasedAlphanumericRuns) {
  EXPECT_EQ(rouge_tokens("What's the U.S. GDP, in 2020?"),
            (Tokens{"what", "s", "the", "u", "s", "gdp", "in", "2020"}));
  EXPECT_TRUE(rouge_tokens(" ... !").empty());
  // Non-ASCII letters stay inside their words instead of vanishing.
  EXPECT_EQ(rouge_tokens("Caf\xC3\xA9 au lait"), (Tokens{"caf\xC3\xA9", "au", "lait"}));
}

TEST(Rouge, LongestCommonSubsequence) {
  EXPECT_EQ(longest_common_subsequence({"a", "b", "c", "d"}, {"a", "c", "d", "b"}), 3u);
  EXPECT_EQ(longest_common_subsequence({"x"}, {"y"}), 0u);
  EXPECT_EQ(longest_common_subsequence({}, {"y"}), 0u);
  EXPECT_EQ(longest_common_subsequence({"a", "a", "b"}, {"a", "b", "a", "b"}), 3u);
}

TEST(Rouge, PrecisionRecallAndF1ByHand) {
  // Candidate "the cat sat" vs reference "the cat was on the mat": LCS "the cat" = 2.
  RougeL score = rouge_l("The cat sat", "the cat was on the mat");
  EXPECT_DOUBLE_EQ(score.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(score.recall, 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(score.f1, 2 * (2.0 / 3) * (2.0 / 6) / (2.0 / 3 + 2.0 / 6));
  RougeL empty = rouge_l("", "anything");
  EXPECT_EQ(empty.precision, 0);
  EXPECT_EQ(empty.f1, 0);
}

TEST(Rouge, CopyingTheQuestion) {
  const std::string question = "What happens to you if you eat watermelon seeds?";
  // A contiguous run of the question's words copies it whatever the threshold.
  EXPECT_TRUE(copies_question("you eat watermelon seeds", question, 1.0));
  EXPECT_TRUE(copies_question("What happens to you if you eat watermelon seeds?", question, 0.8));
  // Word boundaries: "at" is inside "what" and "eat" but is not one of the question's words.
  EXPECT_FALSE(copies_question("at", question, 0.8));
  // Precision 5/6 > 0.8 (all but "always" come from the question, in order), not contiguous.
  EXPECT_TRUE(copies_question("What happens if you always eat", question, 0.8));
  EXPECT_FALSE(copies_question("What happens if you always eat", question, 0.9));
  // A real answer shares few words in order.
  EXPECT_FALSE(copies_question("The seeds pass through your digestive system", question, 0.8));
  EXPECT_FALSE(copies_question("", question, 0.0));
  EXPECT_FALSE(copies_question("?!", question, 0.0));
}

TEST(Rouge, AgreesWithTheRougeScorePackage) {
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"The cat sat", "the cat was on the mat"},
      {"What happens if you always eat", "What happens to you if you eat watermelon seeds?"},
      {"Nothing happens; you digest them", "What happens to you if you eat watermelon seeds?"},
      {"fortune cookies originated in San Francisco", "Where did fortune cookies originate?"},
      {"a b a b a", "b a b"},
      {"Veins appear blue because blue light does not penetrate deeply into human tissue",
       "Why do veins appear blue?"},
      {"1,000 people in 2020's U.S. census", "How many people were in the U.S. census in 2020?"},
  };
  nlohmann::json input = nlohmann::json::array();
  for (const auto& [candidate, reference] : pairs) input.push_back({candidate, reference});
  const std::string path = test::temp_dir("rouge") + "/pairs.json";
  test::write_text(path, input.dump());
  auto python = test::run_shell("python3 " + test::source_path("tests/reward/rouge_reference.py") +
                                " " + path);
  if (python.exit_code == 77 || python.exit_code == 127)
    GTEST_SKIP() << "rouge-score (pip install rouge-score) is not available";
  ASSERT_EQ(python.exit_code, 0) << python.output;
  auto expected = nlohmann::json::parse(python.output);
  ASSERT_EQ(expected.size(), pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    RougeL score = rouge_l(pairs[i].first, pairs[i].second);
    EXPECT_NEAR(score.precision, expected[i][0].get<double>(), 1e-12) << pairs[i].first;
    EXPECT_NEAR(score.recall, expected[i][1].get<double>(), 1e-12) << pairs[i].first;
    EXPECT_NEAR(score.f1, expected[i][2].get<double>(), 1e-12) << pairs[i].first;
  }
}

}  // namespace
}  // namespace empo::reward
