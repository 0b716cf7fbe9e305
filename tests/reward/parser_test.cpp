#include "empo/reward/parser.h"

#include <gtest/gtest.h>

namespace empo::reward::detail {

namespace {

// The parser alone, on the lexer's tokens (no markup stripping, no text fallback). Printed
// forms are only compared where GiNaC's term order is fixed (one variable at most: the order
// of several variables follows their creation order in the process).
MathValue parsed(const std::string& answer) {
  ParseLimits limits;
  return parse_tokens(lex(answer, limits), limits);
}
std::string shown(const std::string& answer) {
  return describe(parsed(answer));
}
ValueKind kind_of(const std::string& answer) {
  return parsed(answer).kind;
}

}  // namespace

TEST(Parser, Numbers) {
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

TEST(Parser, FractionsRootsPowers) {
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

TEST(Parser, SymbolsConstantsFunctions) {
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

TEST(Parser, EquationsAndInequalities) {
  EXPECT_EQ(shown("x = 5"), "expression 5");
  EXPECT_EQ(shown("f(x)=x+1"), "expression 1+x");
  EXPECT_EQ(shown("2+3=5"), "expression 5");
  EXPECT_EQ(kind_of("x+y=1"), ValueKind::equation);
  EXPECT_EQ(shown("x > 2"), "tuple(expression 2, expression \\infty)");
  EXPECT_EQ(shown("k \\geqslant 2"), "tuple[expression 2, expression \\infty)");
  EXPECT_EQ(shown("1 < x \\le 3"), "tuple(expression 1, expression 3]");
  EXPECT_EQ(kind_of("x + y < 1"), ValueKind::relation);
  EXPECT_TRUE(parsed("x + y < 1").strict);
  EXPECT_FALSE(parsed("x + y \\le 1").strict);
  EXPECT_EQ(shown("x \\in [-2,7]"), "tuple[expression -2, expression 7]");
}

TEST(Parser, Structures) {
  EXPECT_EQ(shown("(1, 2]"), "tuple(expression 1, expression 2]");
  EXPECT_EQ(shown("\\{3, 1\\}"), "set{expression 3, expression 1}");
  EXPECT_EQ(shown("\\emptyset"), "set{}");
  EXPECT_EQ(shown("1 \\pm \\sqrt{2}"), "set{expression 1+sqrt(2), expression 1-sqrt(2)}");
  EXPECT_EQ(shown("-1,2"), "set{expression -1, expression 2}");
  EXPECT_EQ(shown("x=1 \\text{ or } x=2"), "set{expression 1, expression 2}");
  EXPECT_EQ(shown("(0,1) \\cup (2,3)"),
            "union{tuple(expression 0, expression 1), tuple(expression 2, expression 3)}");
  EXPECT_EQ(shown("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"), "tuple(expression 1, expression 2)");
  EXPECT_EQ(shown("\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}"),
            "matrix[tuple(expression 1, expression 0), tuple(expression 0, expression 1)]");
}

TEST(Parser, LabelsRelationsAndOperators) {
  EXPECT_EQ(shown("AB = 4"), "expression 4");  // a label of symbols only
  EXPECT_TRUE(parsed("AB = 4").assignment.has_value());
  EXPECT_FALSE(parsed("4").assignment.has_value());
  EXPECT_EQ(kind_of("2x = 4"), ValueKind::equation);
  EXPECT_EQ(shown("11:21"), "expression 11/21");
  EXPECT_EQ(kind_of("x \\neq 1"), ValueKind::not_equal);
  EXPECT_EQ(shown("-2x > -4"), "tuple(expression -\\infty, expression 2)");
  EXPECT_EQ(shown("3 - x \\geq 1"), "tuple(expression -\\infty, expression 2]");
  EXPECT_EQ(kind_of("x^2 > 4"), ValueKind::relation);  // not linear: stays a relation
  EXPECT_EQ(shown("a=1,b=2;a=3,b=4"),
            "set{tuple(expression 1, expression 2), tuple(expression 3, expression 4)}");
  EXPECT_EQ(shown("1;2"), "set{expression 1, expression 2}");
  EXPECT_EQ(shown("\\gcd(12, 18)"), "expression 6");
  EXPECT_EQ(shown("\\min(3, 1/2)"), "expression 1/2");
  EXPECT_EQ(shown("{5 \\choose 2}"), "expression 10");
  EXPECT_EQ(shown("\\sum_{k=1}^{4} k^2"), "expression 30");
  EXPECT_EQ(shown("\\prod_{k=1}^{4} k"), "expression 24");
  EXPECT_EQ(kind_of("\\sum_{k=1}^{n} k"), ValueKind::expression);  // held
  EXPECT_THROW(parsed("\\gcd(x, 2)"), SyntaxError);
  EXPECT_THROW(parsed("\\sum_{k=1}^{100000} k"), BoundError);
}

TEST(Parser, NotMathThrowsSyntaxError) {
  EXPECT_THROW(parsed("1 +"), SyntaxError);
  EXPECT_THROW(parsed("(1, 2"), SyntaxError);
  EXPECT_THROW(parsed("x = 1 < 2"), SyntaxError);  // an equation mixed with an inequality
  EXPECT_THROW(parsed("Evelyn"), SyntaxError);
}

TEST(Parser, BoundsThrowBoundError) {
  EXPECT_THROW(parsed("2^{2^{20}}"), BoundError);
  EXPECT_THROW(parsed(std::string(200, '(') + "1" + std::string(200, ')')), BoundError);
  ParseLimits limits;
  limits.max_parse_steps = 3;
  EXPECT_THROW(parse_tokens(lex("1+2+3", limits), limits), BoundError);
}

}  // namespace empo::reward::detail
