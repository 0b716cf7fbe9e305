#include "empo/reward/lexer.h"

#include <gtest/gtest.h>

namespace empo::reward::detail {

namespace {

std::vector<Tok> types(const std::string& text) {
  std::vector<Tok> out;
  for (const Token& token : lex(text, ParseLimits{})) out.push_back(token.type);
  return out;
}

std::vector<std::string> texts(const std::string& text) {
  std::vector<std::string> out;
  for (const Token& token : lex(text, ParseLimits{})) {
    if (token.type != Tok::end) out.push_back(token.text);
  }
  return out;
}

}  // namespace

TEST(Lexer, NumbersJoinThousandsGroupsAndScientificNotation) {
  EXPECT_EQ(texts("1,000"), (std::vector<std::string>{"1000"}));
  EXPECT_EQ(texts("10{,}080"), (std::vector<std::string>{"10080"}));
  EXPECT_EQ(texts("1\\,000\\,000"), (std::vector<std::string>{"1000000"}));
  EXPECT_EQ(texts("2500,7500"), (std::vector<std::string>{"2500", "", "7500"}));  // not a group
  EXPECT_EQ(types("(1,000)"), (std::vector<Tok>{Tok::lparen, Tok::number, Tok::comma, Tok::number,
                                                Tok::rparen, Tok::end}));
  std::vector<Token> tokens = lex("4.5e33", ParseLimits{});
  EXPECT_EQ(tokens[0].text, "4.5");
  EXPECT_EQ(tokens[0].exponent, 33);
  EXPECT_FALSE(tokens[0].integer);
  EXPECT_TRUE(lex("17", ParseLimits{})[0].integer);
}

TEST(Lexer, CommandsWrappersAndUnits) {
  EXPECT_EQ(types("\\frac12"), (std::vector<Tok>{Tok::frac, Tok::number, Tok::end}));
  EXPECT_EQ(types("45^\\circ"), (std::vector<Tok>{Tok::number, Tok::degree, Tok::end}));
  EXPECT_EQ(types("x^{\\prime}"), (std::vector<Tok>{Tok::letter, Tok::prime, Tok::end}));
  EXPECT_EQ(types("5 \\text{ cm}"), (std::vector<Tok>{Tok::number, Tok::unit, Tok::end}));
  EXPECT_EQ(types("1 \\text{ and } 2"),
            (std::vector<Tok>{Tok::number, Tok::comma, Tok::number, Tok::end}));
  EXPECT_EQ(types("\\mathbf{x}"), (std::vector<Tok>{Tok::letter, Tok::end}));
  EXPECT_EQ(types("\\left( \\pi \\right)"),
            (std::vector<Tok>{Tok::lparen, Tok::pi, Tok::rparen, Tok::end}));
  EXPECT_EQ(
      types("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}"),
      (std::vector<Tok>{Tok::begin_matrix, Tok::number, Tok::ampersand, Tok::number, Tok::row_end,
                        Tok::number, Tok::ampersand, Tok::number, Tok::end_matrix, Tok::end}));
  EXPECT_EQ(texts("\\sin \\alpha"), (std::vector<std::string>{"sin", "alpha"}));
  EXPECT_EQ(types("Evelyn"), (std::vector<Tok>{Tok::word, Tok::end}));
}

TEST(Lexer, UnicodeMathSymbols) {
  EXPECT_EQ(types("x \xE2\x89\xA4 3"),
            (std::vector<Tok>{Tok::letter, Tok::less_equal, Tok::number, Tok::end}));
  EXPECT_EQ(types("2\xCF\x80"), (std::vector<Tok>{Tok::number, Tok::pi, Tok::end}));
  EXPECT_EQ(types("\xE2\x88\x92"
                  "1"),
            (std::vector<Tok>{Tok::minus, Tok::number, Tok::end}));
  EXPECT_EQ(types("\xE2\x88\x85"), (std::vector<Tok>{Tok::empty_set, Tok::end}));
  EXPECT_EQ(types("x\xC2\xB2"), (std::vector<Tok>{Tok::letter, Tok::power, Tok::number, Tok::end}));
  EXPECT_EQ(texts("\xCE\xB8"), (std::vector<std::string>{"theta"}));
  EXPECT_EQ(types("5\xE2\x82\xAC"), (std::vector<Tok>{Tok::number, Tok::end}));  // euro sign
  EXPECT_THROW(lex("\xE4\xB8\xAD", ParseLimits{}), SyntaxError);  // CJK text is not math
}

TEST(Lexer, RelationsSeparatorsAndOperators) {
  EXPECT_EQ(types("3 != 4"),
            (std::vector<Tok>{Tok::number, Tok::not_equal, Tok::number, Tok::end}));
  EXPECT_EQ(types("3!"), (std::vector<Tok>{Tok::number, Tok::factorial, Tok::end}));
  EXPECT_EQ(types("x \\neq 1"),
            (std::vector<Tok>{Tok::letter, Tok::not_equal, Tok::number, Tok::end}));
  EXPECT_EQ(types("2:3"), (std::vector<Tok>{Tok::number, Tok::ratio, Tok::number, Tok::end}));
  EXPECT_EQ(types("1;2"), (std::vector<Tok>{Tok::number, Tok::semicolon, Tok::number, Tok::end}));
  EXPECT_EQ(types("{n \\choose k}"), (std::vector<Tok>{Tok::lbrace, Tok::letter, Tok::choose,
                                                       Tok::letter, Tok::rbrace, Tok::end}));
  EXPECT_EQ(texts("\\sum \\prod"), (std::vector<std::string>{"sum", "prod"}));
  // \quad separates two complete items, and is only space elsewhere.
  EXPECT_EQ(types("1 \\quad 2"),
            (std::vector<Tok>{Tok::number, Tok::comma, Tok::number, Tok::end}));
  EXPECT_EQ(types("1 + \\quad 2"),
            (std::vector<Tok>{Tok::number, Tok::plus, Tok::number, Tok::end}));
  EXPECT_EQ(types("(1 \\quad 2)"),
            (std::vector<Tok>{Tok::lparen, Tok::number, Tok::number, Tok::rparen, Tok::end}));
  EXPECT_EQ(types("5 \\quad \\text{cm}"), (std::vector<Tok>{Tok::number, Tok::unit, Tok::end}));
  EXPECT_EQ(types("\\begin{array}{cc}1&2\\end{array}"),
            (std::vector<Tok>{Tok::begin_matrix, Tok::number, Tok::ampersand, Tok::number,
                              Tok::end_matrix, Tok::end}));
}

TEST(Lexer, ErrorsAndBounds) {
  EXPECT_THROW(lex("{1", ParseLimits{}), SyntaxError);
  EXPECT_THROW(lex("1}", ParseLimits{}), SyntaxError);
  EXPECT_THROW(lex("\\", ParseLimits{}), SyntaxError);
  EXPECT_THROW(lex("\\begin{tabular}", ParseLimits{}), SyntaxError);
  EXPECT_THROW(lex("1e9999999999", ParseLimits{}), BoundError);
  ParseLimits limits;
  limits.max_literal_digits = 5;
  EXPECT_THROW(lex("123456", limits), BoundError);
  EXPECT_NO_THROW(lex("12345", limits));
}

}  // namespace empo::reward::detail
