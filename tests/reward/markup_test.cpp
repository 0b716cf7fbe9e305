#include "empo/reward/markup.h"

#include <gtest/gtest.h>

#include "empo/reward/latex.h"

namespace empo::reward {

TEST(NormalizeText, RemovesMarkupSpacesAndCase) {
  EXPECT_EQ(normalize_text("\\text{ Evelyn }"), "evelyn");
  EXPECT_EQ(normalize_text("$\\dfrac{1}{2}$."), "\\frac{1}{2}");
  EXPECT_EQ(normalize_text("\\left( a,\\, b \\right)"), "(a,b)");
  EXPECT_EQ(normalize_text("\\lambda_{\\text {red"), "\\lambda_{red");
  EXPECT_EQ(normalize_text("\\mathrm{MR} = SRMC"), "mr=srmc");
}

namespace detail {

TEST(StripMarkup, KeepsCaseAndSpacesWithoutFolding) {
  EXPECT_EQ(strip_markup("\\text{Evelyn} \\quad \\dfrac{A}{2}", false), "Evelyn  \\dfrac{A}{2}");
  EXPECT_EQ(strip_markup("\\left. x \\right|", false), " x |");
  EXPECT_EQ(strip_markup("10\\,000\\$", false), "10000");
  EXPECT_EQ(strip_markup("\\dbinom{5}{2}", true), "\\binom{5}{2}");
}

TEST(ChoiceLetter, LettersAThroughEAloneOrInParentheses) {
  EXPECT_EQ(choice_letter("(C)"), 'C');
  EXPECT_EQ(choice_letter("\\textbf{(D) } 42"), 'D');
  EXPECT_EQ(choice_letter(" E "), 'E');
  EXPECT_EQ(choice_letter("(J)"), 'J');
  EXPECT_EQ(choice_letter("F"), 0);  // a bare later letter is more likely a variable
  EXPECT_EQ(choice_letter("x"), 0);
  EXPECT_EQ(choice_letter("(1)"), 0);
  EXPECT_EQ(choice_letter("AB"), 0);
}

TEST(StripDelimiters, DollarsSpacesAndTheFinalPeriod) {
  EXPECT_EQ(strip_delimiters("  $\\frac{1}{2}$. "), "\\frac{1}{2}");
  EXPECT_EQ(strip_delimiters("$1$, $2$"), "1, 2");
  EXPECT_EQ(strip_delimiters("\\$5"), "\\$5");  // an escaped dollar is currency
  EXPECT_EQ(strip_delimiters("$ $"), "");
}

}  // namespace detail

}  // namespace empo::reward
