#pragma once
// The parser, the third stage of reading an answer: recursive descent from tokens to a
// MathValue (GiNaC expressions and structures of them). Every recursion passes a depth
// guard, every token consumed is a counted step, and every exact number that a power,
// factorial or binomial creates is paid for in bits (ParseLimits).
// Internal to src/empo/reward (namespace detail): use parse_answer().
#include <string>
#include <vector>

#include "empo/reward/lexer.h"

namespace empo::reward::detail {

inline MathValue make_expression(const GiNaC::ex& expression) {
  MathValue value;
  value.kind = ValueKind::expression;
  value.expression = expression;
  return value;
}

inline MathValue make_items(ValueKind kind, std::vector<MathValue> items, char open = 0,
                            char close = 0) {
  MathValue value;
  value.kind = kind;
  value.items = std::move(items);
  value.open = open;
  value.close = close;
  return value;
}

inline MathValue make_text(ValueKind kind, std::string text) {
  MathValue value;
  value.kind = kind;
  value.text = std::move(text);
  return value;
}

// The value the tokens spell (several top-level items are a set). SyntaxError when they are
// not math, BoundError past a bound; GiNaC's own errors (a division by zero) pass through.
MathValue parse_tokens(std::vector<Token> tokens, const ParseLimits& limits);

}  // namespace empo::reward::detail
