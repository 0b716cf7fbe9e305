#include "empo/text/jinja_lexer.h"

#include <gtest/gtest.h>

#include "empo/text/jinja_value.h"

namespace empo::text::jinja {
namespace {

using Type = Token::Type;

std::string data_of(const std::string& source) {
  std::string out;
  for (const auto& token : tokenize(source))
    if (token.type == Type::data) out += token.text;
  return out;
}

TEST(JinjaLexer, WhitespaceControlAsTransformersSetsIt) {
  // trim_blocks: the newline after a block tag goes; not after an expression.
  EXPECT_EQ(data_of("{% if x %}\nA{% endif %}\n{{ y }}\nB"), "A\nB");
  // lstrip_blocks: indentation before a block tag goes, "{%+" keeps it.
  EXPECT_EQ(data_of("  {% if x %}A\n  {%+ endif %}"), "A\n  ");
  // "-" strips every whitespace character on its side.
  EXPECT_EQ(data_of("A \n {{- x -}} \n B"), "AB");
  EXPECT_EQ(data_of("A\n\n{%- if x -%}\n\n B{% endif %}"), "AB");
  // Comments vanish, with trim_blocks after them.
  EXPECT_EQ(data_of("A{# note #}\nB"), "AB");
  // One trailing newline is dropped; \r\n becomes \n.
  EXPECT_EQ(data_of("A\r\nB\n"), "A\nB");
}

TEST(JinjaLexer, TokensOfAnExpression) {
  auto tokens = tokenize("{{ messages[0]['role'] == \"user\\n\" and x|length >= 2.5 }}");
  std::vector<std::string> texts;
  for (const auto& token : tokens)
    if (token.type != Type::variable_begin && token.type != Type::variable_end &&
        token.type != Type::end)
      texts.push_back(token.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"messages", "[", "0", "]", "[", "role", "]", "==",
                                             "user\n", "and", "x", "|", "length", ">=", "2.5"}));
  EXPECT_EQ(tokens[9].type, Type::string);
  EXPECT_EQ(tokens[15].type, Type::floating);
}

TEST(JinjaLexer, StringEscapesAsPython) {
  auto tokens = tokenize("{{ '\\\\boxed{} \\t\\u00e9\\x41 \\d' }}");
  EXPECT_EQ(tokens[1].text,
            "\\boxed{} \t\xC3\xA9"
            "A \\d");  // unknown escapes stay
}

TEST(JinjaLexer, LinesAndErrors) {
  auto tokens = tokenize("a\nb\n{{ x }}");
  EXPECT_EQ(tokens[1].line, 3);
  try {
    tokenize("one\n{{ 'open }}");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.line, 2);
  }
  EXPECT_THROW(tokenize("{% if x "), Error);
  EXPECT_THROW(tokenize("{# never closed"), Error);
  EXPECT_THROW(tokenize("{{ a ; b }}"), Error);
}

}  // namespace
}  // namespace empo::text::jinja
