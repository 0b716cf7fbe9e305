#include "empo/text/jinja_parser.h"

#include <gtest/gtest.h>

namespace empo::text::jinja {
namespace {

Body parsed(const std::string& source) {
  return parse(tokenize(source));
}

const Expression& output_expression(const std::string& source) {
  static Body body;
  body = parsed(source);
  return *body.at(0)->expression;
}

TEST(JinjaParser, PrecedenceFollowsJinja) {
  // Filters bind tighter than +, + tighter than comparison, comparison tighter than and.
  const Expression& sum = output_expression("{{ a | trim + b == c and d }}");
  ASSERT_EQ(sum.kind, Expression::Kind::binary);
  EXPECT_EQ(sum.name, "and");
  const Expression& compare = *sum.children[0];
  EXPECT_EQ(compare.name, "==");
  EXPECT_EQ(compare.children[0]->name, "+");
  EXPECT_EQ(compare.children[0]->children[0]->kind, Expression::Kind::filter);
  // "not x is defined" is not (x is defined).
  const Expression& negation = output_expression("{{ not x is defined }}");
  EXPECT_EQ(negation.kind, Expression::Kind::unary);
  EXPECT_EQ(negation.children[0]->kind, Expression::Kind::test);
  // -x|abs is (-x)|abs.
  EXPECT_EQ(output_expression("{{ -x|abs }}").kind, Expression::Kind::filter);
}

TEST(JinjaParser, Statements) {
  Body body = parsed(
      "{% for k, v in d.items() if k != 'x' %}{{ k }}{% else %}none{% endfor %}"
      "{% if a %}1{% elif b %}2{% else %}3{% endif %}"
      "{% set ns.flag = true %}{% set a, b = 1, 2 %}{% set block %}x{% endset %}"
      "{% macro m(p, q=1) %}{{ p }}{% endmacro %}{% generation %}g{% endgeneration %}");
  ASSERT_EQ(body.size(), 7u);
  EXPECT_EQ(body[0]->kind, Node::Kind::for_);
  EXPECT_EQ(body[0]->targets, (std::vector<std::string>{"k", "v"}));
  EXPECT_TRUE(body[0]->condition);
  EXPECT_EQ(body[0]->else_body.size(), 1u);
  EXPECT_EQ(body[1]->branches.size(), 2u);
  EXPECT_EQ(body[2]->attribute, "flag");
  EXPECT_EQ(body[3]->targets.size(), 2u);
  EXPECT_EQ(body[4]->kind, Node::Kind::set_block);
  EXPECT_EQ(body[5]->parameters.size(), 2u);
  EXPECT_EQ(body[6]->kind, Node::Kind::generation);
}

TEST(JinjaParser, SlicesAndCalls) {
  const Expression& reversed = output_expression("{{ messages[::-1] }}");
  ASSERT_EQ(reversed.kind, Expression::Kind::slice);
  EXPECT_FALSE(reversed.children[1]);
  EXPECT_TRUE(reversed.children[3]);
  const Expression& call = output_expression("{{ x.split('a', maxsplit=1) }}");
  ASSERT_EQ(call.kind, Expression::Kind::call);
  EXPECT_EQ(call.children.size(), 2u);
  EXPECT_EQ(call.keyword.size(), 1u);
}

TEST(JinjaParser, UnknownConstructsAreErrorsWithTheirLine) {
  try {
    parsed("a\n{% include 'other.jinja' %}");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.line, 2);
    EXPECT_NE(std::string(error.what()).find("include"), std::string::npos);
  }
  EXPECT_THROW(parsed("{% if x %}never closed"), Error);
  EXPECT_THROW(parsed("{% for x in y recursive %}{% endfor %}"), Error);
  EXPECT_THROW(parsed("{{ f(*args) }}"), Error);
  EXPECT_THROW(parsed("{{ (a }}"), Error);
}

}  // namespace
}  // namespace empo::text::jinja
