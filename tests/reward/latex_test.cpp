#include "empo/reward/latex.h"

#include <gtest/gtest.h>

#include <chrono>

namespace empo::reward {

namespace {

// Printed forms are only compared where GiNaC's term order is fixed (one variable at most:
// the order of several variables follows their creation order in the process).
std::string shown(const std::string& answer) {
  return describe(parse_answer(answer));
}
ValueKind kind_of(const std::string& answer) {
  return parse_answer(answer).kind;
}

std::string repeat(const std::string& text, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += text;
  return out;
}

}  // namespace

TEST(ParseAnswer, Numbers) {
  EXPECT_EQ(shown("42"), "expression 42");
  EXPECT_EQ(shown("-0.875"), "expression -7/8");  // decimals are exact
  EXPECT_EQ(shown(".35625"), "expression 57/160");
  EXPECT_EQ(shown("4.5e33"), "expression 4500000000000000000000000000000000");
  EXPECT_EQ(shown("1.24e-8"), "expression 31/2500000000");
  EXPECT_EQ(shown("-1./3"), "expression -1/3");
  EXPECT_EQ(shown("1,000"), "expression 1000");
  EXPECT_EQ(shown("10,\\!080"), "expression 10080");
  EXPECT_EQ(shown("1\\,000\\,000"), "expression 1000000");
  EXPECT_EQ(shown("2500,7500"), "set{expression 2500, expression 7500}");
}

TEST(ParseAnswer, FractionsRootsPowers) {
  EXPECT_EQ(shown("\\frac12"), "expression 1/2");
  EXPECT_EQ(shown("\\dfrac{3}{4}"), "expression 3/4");
  EXPECT_EQ(shown("\\frac{270}7"), "expression 270/7");
  EXPECT_EQ(shown("\\frac 34"), "expression 3/4");
  EXPECT_EQ(shown("\\sqrt{8}"), "expression sqrt(8)");  // equal to 2 sqrt(2) numerically
  EXPECT_EQ(shown("\\sqrt[3]{-8}"), "expression -2");
  EXPECT_EQ(shown("2^{10}"), "expression 1024");
  EXPECT_EQ(kind_of("x^2y"), ValueKind::expression);
  EXPECT_EQ(shown("1\\frac{4}{5}"), "expression 9/5");        // mixed number
  EXPECT_EQ(shown("2\\frac{\\pi}{3}"), "expression 2/3*Pi");  // a product
}

TEST(ParseAnswer, SymbolsConstantsFunctions) {
  EXPECT_EQ(shown("x_{0}"), "expression x_0");
  EXPECT_EQ(shown("m_{\\max}"), "expression m_max");
  EXPECT_EQ(shown("2\\pi"), "expression 2*Pi");
  EXPECT_EQ(shown("e^{i\\pi}"), "expression -1");
  EXPECT_EQ(shown("-\\infty"), "expression -\\infty");
  EXPECT_EQ(shown("\\sin\\frac{\\pi}{6}"), "expression 1/2");
  EXPECT_EQ(kind_of("\\log_{2} 8"), ValueKind::expression);
  EXPECT_EQ(shown("\\binom{5}{2}"), "expression 10");
  EXPECT_EQ(shown("5!"), "expression 120");
  EXPECT_EQ(shown("\\lfloor 7/2 \\rfloor"), "expression 3");
  EXPECT_EQ(shown("\\lceil 7/2 \\rceil"), "expression 4");
  EXPECT_EQ(shown("|-3|"), "expression 3");
  EXPECT_EQ(shown("204_5"), "expression 54");  // a numeral in base 5
}

TEST(ParseAnswer, MarkupUnitsAndDecorations) {
  EXPECT_EQ(shown("45^\\circ"), "expression 45");
  EXPECT_EQ(shown("45^{\\circ}"), "expression 45");
  EXPECT_EQ(shown("8\\%"), "expression 8");
  EXPECT_EQ(shown("\\$18.90"), "expression 189/10");
  EXPECT_EQ(shown("15\\mbox{ cm}^2"), "expression 15");
  EXPECT_EQ(shown("5.4 \\text{ cents}"), "expression 27/5");
  EXPECT_EQ(shown("\\mathbf{12}"), "expression 12");
  EXPECT_EQ(shown("\\left( 3, \\frac{\\pi}{2} \\right)"), "tuple(expression 3, expression 1/2*Pi)");
  EXPECT_EQ(shown("$\\frac{1}{2}$."), "expression 1/2");
}

TEST(ParseAnswer, EquationsAndInequalities) {
  EXPECT_EQ(shown("x = 5"), "expression 5");
  EXPECT_EQ(shown("f(x)=x+1"), "expression 1+x");
  EXPECT_EQ(shown("2+3=5"), "expression 5");
  EXPECT_EQ(kind_of("x+y=1"), ValueKind::equation);
  EXPECT_EQ(shown("x > 2"), "tuple(expression 2, expression \\infty)");
  EXPECT_EQ(shown("k \\geqslant 2"), "tuple[expression 2, expression \\infty)");
  EXPECT_EQ(shown("1 < x \\le 3"), "tuple(expression 1, expression 3]");
  EXPECT_EQ(kind_of("x + y < 1"), ValueKind::relation);
  EXPECT_TRUE(parse_answer("x + y < 1").strict);
  EXPECT_FALSE(parse_answer("x + y \\le 1").strict);
  EXPECT_EQ(shown("x \\in [-2,7]"), "tuple[expression -2, expression 7]");
}

TEST(ParseAnswer, Structures) {
  EXPECT_EQ(shown("(1, 2]"), "tuple(expression 1, expression 2]");
  EXPECT_EQ(shown("\\{3, 1\\}"), "set{expression 3, expression 1}");
  EXPECT_EQ(shown("\\emptyset"), "set{}");
  EXPECT_EQ(shown("1 \\pm \\sqrt{2}"), "set{expression 1+sqrt(2), expression 1-sqrt(2)}");
  EXPECT_EQ(shown("$-1$,$2$"), "set{expression -1, expression 2}");
  EXPECT_EQ(shown("x=1 \\text{ or } x=2"), "set{expression 1, expression 2}");
  EXPECT_EQ(shown("(0,1) \\cup (2,3)"),
            "union{tuple(expression 0, expression 1), tuple(expression 2, expression 3)}");
  EXPECT_EQ(shown("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"), "tuple(expression 1, expression 2)");
  EXPECT_EQ(shown("\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}"),
            "matrix[tuple(expression 1, expression 0), tuple(expression 0, expression 1)]");
}

TEST(ParseAnswer, ChoicesTextAndEmpty) {
  EXPECT_EQ(shown("(C)"), "choice C");
  EXPECT_EQ(shown("\\text{(C)}"), "choice C");
  EXPECT_EQ(shown("\\textbf{(B) }12"), "choice B");
  EXPECT_EQ(shown("B"), "choice B");
  EXPECT_EQ(shown("\\text{Evelyn}"), "text evelyn");
  EXPECT_EQ(shown("np.arcsin(10/13)"), "text np.arcsin(10/13)");
  EXPECT_EQ(shown("\\frac{1"), "text \\frac{1");          // truncated
  EXPECT_EQ(shown("\\frac{1}{0}"), "text \\frac{1}{0}");  // GiNaC: division by zero
  EXPECT_EQ(shown(""), "empty");
  EXPECT_EQ(shown("  $ $ "), "empty");
  EXPECT_EQ(shown("\\text{}"), "empty");
}

TEST(ParseAnswer, BoundsGiveInvalidQuickly) {
  auto started = std::chrono::steady_clock::now();
  const std::string cases[] = {
      "10^{10^{10^{10}}}",
      "10^10^10^10",
      "(10^6)!",
      "\\binom{1000000}{500000}",
      "1e999999999",
      "2^{2^{20}}",
      repeat("10^{2000}", 20),
      repeat("(", 10000) + "1" + repeat(")", 10000),
      repeat("{", 10000) + "1" + repeat("}", 10000),
      repeat("\\frac{1}{", 5000) + "2" + repeat("}", 5000),
      repeat("-", 10000) + "1",
      repeat("2^", 5000) + "2",
      repeat("x", 100 * 1024 + 1),
      "1" + repeat("0", 2001),
  };
  for (const std::string& answer : cases) {
    MathValue value = parse_answer(answer);
    EXPECT_EQ(value.kind, ValueKind::invalid) << answer.substr(0, 40) << " -> " << describe(value);
    EXPECT_EQ(canonical_key(value), "");
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_LT(seconds, 5.0);  // a hang guard, not a benchmark
}

TEST(ParseAnswer, TooManyVariablesIsInvalid) {
  std::string sum;
  for (int i = 1; i <= 40; ++i) sum += "+x_{" + std::to_string(i) + "}";
  EXPECT_EQ(parse_answer(sum).kind, ValueKind::invalid);
  ParseLimits limits;
  limits.max_symbols = 64;
  EXPECT_EQ(parse_answer(sum, limits).kind, ValueKind::expression);
}

TEST(ParseAnswer, ParserStepsAreBoundedByCountNotTime) {
  // "x+x+...+x" with 2000 terms is 3999 tokens and the end marker: one step short of the bound
  // it fails, at the bound it parses; the same on every run and any machine.
  std::string sum = repeat("x+", 1999) + "x";
  ParseLimits limits;
  limits.max_parse_steps = 3999;
  for (int run = 0; run < 3; ++run) {
    MathValue value = parse_answer(sum, limits);
    EXPECT_EQ(value.kind, ValueKind::invalid);
    EXPECT_EQ(value.text, "too many parser steps");
  }
  limits.max_parse_steps = 4000;
  EXPECT_EQ(describe(parse_answer(sum, limits)), "expression 2000*x");
  EXPECT_EQ(parse_answer(repeat("x+", 40000) + "x").kind, ValueKind::invalid);  // default bound
}

TEST(NormalizeText, RemovesMarkupSpacesAndCase) {
  EXPECT_EQ(normalize_text("\\text{ Evelyn }"), "evelyn");
  EXPECT_EQ(normalize_text("$\\dfrac{1}{2}$."), "\\frac{1}{2}");
  EXPECT_EQ(normalize_text("\\left( a,\\, b \\right)"), "(a,b)");
  EXPECT_EQ(normalize_text("\\lambda_{\\text {red"), "\\lambda_{red");
  EXPECT_EQ(normalize_text("\\mathrm{MR} = SRMC"), "mr=srmc");
}

TEST(CanonicalKey, EqualForIdenticalValuesOnly) {
  EXPECT_EQ(canonical_key(parse_answer("0.5")), canonical_key(parse_answer("\\frac12")));
  EXPECT_EQ(canonical_key(parse_answer("x+y")), canonical_key(parse_answer("y + x")));
  EXPECT_EQ(canonical_key(parse_answer("\\{1,2\\}")), canonical_key(parse_answer("2, 1")));
  EXPECT_NE(canonical_key(parse_answer("(1,2)")), canonical_key(parse_answer("(2,1)")));
  EXPECT_NE(canonical_key(parse_answer("(1,2)")), canonical_key(parse_answer("[1,2]")));
  EXPECT_NE(canonical_key(parse_answer("\\sqrt{8}")), canonical_key(parse_answer("3")));
  EXPECT_EQ(canonical_key(parse_answer("")), "");
}

}  // namespace empo::reward
