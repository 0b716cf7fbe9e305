#include "empo/reward/answer.h"

#include <gtest/gtest.h>

#include "empo/io/error.h"

namespace empo::reward {

TEST(ExtractAnswer, LastBoxedWithNestedBraces) {
  EXPECT_EQ(extract_answer("so \\boxed{\\frac{1}{2}}."), "\\frac{1}{2}");
  EXPECT_EQ(extract_answer("first \\boxed{1}, then \\boxed{2}"), "2");
  EXPECT_EQ(extract_answer("\\boxed{\\left(\\frac{\\sqrt{3}}{2}, 1\\right)}"),
            "\\left(\\frac{\\sqrt{3}}{2}, 1\\right)");
  EXPECT_EQ(extract_answer("$\\boxed{ 42 }$"), "42");
}

TEST(ExtractAnswer, FboxAndEscapedBraces) {
  EXPECT_EQ(extract_answer("\\fbox{7}"), "7");
  EXPECT_EQ(extract_answer("\\boxed{3} or rather \\fbox{4}"), "4");
  EXPECT_EQ(extract_answer("\\boxed{\\{1, 2\\}}"), "\\{1, 2\\}");
}

TEST(ExtractAnswer, BoxedWithoutBraces) {
  EXPECT_EQ(extract_answer("The answer is $\\boxed 5$."), "5");
  EXPECT_EQ(extract_answer("\\boxed 12\nmore text"), "12");
  EXPECT_EQ(extract_answer("\\boxed5"), "");  // not LaTeX
  EXPECT_EQ(extract_answer("\\boxedx{3}"), "");
}

TEST(ExtractAnswer, TruncatedLastBoxFallsBackToLastComplete) {
  EXPECT_EQ(extract_answer("\\boxed{1} ... \\boxed{\\frac{2}{"), "1");
  EXPECT_EQ(extract_answer("\\boxed{\\frac{2}{"), "");
}

TEST(ExtractAnswer, NothingWithoutBoxByDefault) {
  EXPECT_EQ(extract_answer("The answer is 5."), "");
  EXPECT_EQ(extract_answer(""), "");
  EXPECT_EQ(extract_answer("\\boxed{}"), "");
  EXPECT_EQ(extract_answer("\\boxed{   }"), "");
}

TEST(ExtractAnswer, AnswerIsFallback) {
  AnswerConfig config;
  config.fallbacks = {AnswerFallback::answer_is};
  EXPECT_EQ(extract_answer("So the answer is 5. Done.", config), "5");
  EXPECT_EQ(extract_answer("THE ANSWER IS $\\frac{1}{2}$.", config), "$\\frac{1}{2}$");
  EXPECT_EQ(extract_answer("The answer is 3.5.\nBye", config), "3.5");
  EXPECT_EQ(extract_answer("no phrase here", config), "");
  EXPECT_EQ(extract_answer("the answer is \\boxed{7}", config), "7");  // the box wins
}

TEST(ExtractAnswer, AnswerColonFallback) {
  AnswerConfig config;
  config.fallbacks = {AnswerFallback::answer_colon};
  EXPECT_EQ(extract_answer("work...\nAnswer: 12\n", config), "12");
  EXPECT_EQ(extract_answer("answer: x = 3.", config), "x = 3");
}

TEST(ExtractAnswer, LastNumberFallback) {
  AnswerConfig config;
  config.fallbacks = {AnswerFallback::last_number};
  EXPECT_EQ(extract_answer("3 apples and -4.5 pears", config), "-4.5");
  EXPECT_EQ(extract_answer("total 1,000 coins", config), "1,000");
  EXPECT_EQ(extract_answer("1,2,3", config), "3");
  EXPECT_EQ(extract_answer("no digits", config), "");
}

TEST(ExtractAnswer, FallbacksTriedInOrder) {
  AnswerConfig config;
  config.fallbacks = {AnswerFallback::answer_is, AnswerFallback::last_number};
  EXPECT_EQ(extract_answer("The answer is 7. Check: 8", config), "7");
  EXPECT_EQ(extract_answer("Check: 8", config), "8");
}

TEST(ExtractAnswer, HashDollarMarker) {
  AnswerConfig config;
  config.format = AnswerFormat::hash_dollar;
  EXPECT_EQ(extract_answer("23+45=68,68+67=135,#135$", config), "135");
  EXPECT_EQ(extract_answer("23+45=68,68+67=135,#135", config), "");  // no terminator
  EXPECT_EQ(extract_answer("#1$ then #2$", config), "2");
  EXPECT_EQ(extract_answer("#1$ then #2", config), "");  // the last '#' decides
  EXPECT_EQ(extract_answer("#$", config), "");
  EXPECT_EQ(extract_answer("no marker $", config), "");
  EXPECT_EQ(extract_answer("\\boxed{5}", config), "");
}

TEST(ExtractAnswer, NamesAndUnknownNames) {
  EXPECT_EQ(answer_format_from_name("boxed"), AnswerFormat::boxed);
  EXPECT_EQ(answer_format_from_name("hash_dollar"), AnswerFormat::hash_dollar);
  EXPECT_EQ(answer_fallback_from_name("answer_is"), AnswerFallback::answer_is);
  EXPECT_EQ(answer_fallback_from_name("answer_colon"), AnswerFallback::answer_colon);
  EXPECT_EQ(answer_fallback_from_name("last_number"), AnswerFallback::last_number);
  EXPECT_THROW(answer_format_from_name("box"), InputError);
  EXPECT_THROW(answer_fallback_from_name("first_number"), InputError);
}

}  // namespace empo::reward
