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

// parse_answer runs markup stripping, the lexer and the parser in turn, and falls back to
// text for what is not math (each stage has its own test file).
TEST(ParseAnswer, StagesCompose) {
  EXPECT_EQ(kind_of("$\\left( 1, \\dfrac{1}{2} \\right)$."), ValueKind::tuple);
  EXPECT_EQ(kind_of("\\boxed"), ValueKind::text);
  EXPECT_EQ(kind_of("$\\text{Evelyn}$"), ValueKind::text);
  EXPECT_EQ(kind_of("(E)"), ValueKind::choice);
  EXPECT_EQ(shown("$-1$,$2$"), "set{expression -1, expression 2}");
  EXPECT_EQ(kind_of("1e999999999"), ValueKind::invalid);
  EXPECT_EQ(shown("$x = \\frac{3}{4}$"), "expression 3/4");
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

// Found by fuzz/equivalence_fuzz: a variable spelled like a GiNaC constant (\Pi, I) printed
// as the constant, so its key was pi's or the imaginary unit's although it equals neither.
TEST(CanonicalKey, VariablesSpelledLikeConstantsKeepTheirOwnKey) {
  for (const char* name : {"\\Pi", "I"}) {
    MathValue variable = parse_answer(std::string(name) + "/2");
    ASSERT_EQ(variable.kind, ValueKind::expression) << name;
    EXPECT_TRUE(GiNaC::is_a<GiNaC::symbol>(variable.expression.op(0)) ||
                GiNaC::is_a<GiNaC::symbol>(variable.expression.op(1)))
        << name << ": " << describe(variable);
    for (const char* constant : {"\\frac{\\pi}{2}", "i/2", "\\frac{\\sqrt{-1}}{2}"})
      EXPECT_NE(canonical_key(variable), canonical_key(parse_answer(constant)))
          << name << " vs " << constant;
  }
  EXPECT_EQ(canonical_key(parse_answer("\\Pi")), canonical_key(parse_answer("\\Pi")));
}

}  // namespace empo::reward
