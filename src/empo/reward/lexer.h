#pragma once
// The lexer, the second stage of reading an answer: LaTeX answer text -> tokens. Text
// wrappers, spacing and \left/\right vanish here; unit words become units, "and"/"or"
// separators, thousands separators join digit groups, Unicode math symbols their tokens.
// Internal to src/empo/reward (namespace detail): use parse_answer().
#include <stdexcept>
#include <string>
#include <vector>

#include "empo/reward/latex.h"

namespace empo::reward::detail {

// Input that is not math: the answer becomes normalised text.
struct SyntaxError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A size or work bound: the answer becomes `invalid` and equals nothing.
struct BoundError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Tok {
  end,
  number,
  letter,
  name,  // a Greek letter or other named symbol
  pi,
  infinity,
  function,
  frac,
  sqrt,
  binom,
  plus,
  minus,
  plus_minus,
  minus_plus,
  times,
  divide,
  power,
  subscript,
  factorial,
  equals,
  approx,
  not_equal,
  less,
  less_equal,
  greater,
  greater_equal,
  in,
  comma,
  semicolon,     // separates groups of items: "p=5,q=2; p=7,q=2"
  ratio,         // ':' as in 11:21
  choose,        // {n \choose k}
  big_operator,  // \sum or \prod (text: "sum" / "prod")
  cup,
  lparen,
  rparen,
  lbracket,
  rbracket,
  lbrace,
  rbrace,
  lset,
  rset,
  bar,
  lfloor,
  rfloor,
  lceil,
  rceil,
  percent,
  degree,
  prime,
  unit,
  word,  // not math outside a subscript
  empty_set,
  begin_matrix,
  end_matrix,
  ampersand,
  row_end,
};

struct Token {
  Tok type = Tok::end;
  std::string text;      // number: digits with an optional '.'; names: the name
  long exponent = 0;     // number: the power of ten of scientific notation
  bool integer = false;  // number: written as a plain integer
};

// The tokens of `text` (markup already stripped of '$'), ending with Tok::end. SyntaxError
// for text that is not math, BoundError for a number with too many digits.
std::vector<Token> lex(const std::string& text, const ParseLimits& limits);

}  // namespace empo::reward::detail
