#pragma once
// A recursive-descent parser from an extracted answer (LaTeX math, as written inside
// \boxed{}) to a value that can be compared: a GiNaC expression, or a structure of them
// (tuple/interval, set, union, matrix, equation, inequality), a multiple-choice letter, or
// normalised text when the answer is not math.
//
// Reading an answer has four stages, a file each: markup.h (delimiters, wrappers, spacing,
// choice letters, the text normal form), lexer.h (text -> tokens), parser.h (tokens ->
// MathValue) and canonical.cpp (canonical_key, describe). This header is the public API.
//
// Every parse is bounded by work, never by a clock: input size, parser steps (tokens
// consumed), nesting depth, the size of exact numbers that powers, factorials and binomials
// may create (so 10^10^10^10 is refused, not computed) and the number of distinct symbols.
// Past a bound the value is `invalid`, which equals nothing. The result is a function of the
// answer and the limits alone, so the same answer parses the same on every machine and load.
//
// Variables are GiNaC symbols, which compare by identity, so every name maps to one symbol in
// a process-wide table (it grows with the distinct names seen, at most max_symbols per
// answer). GiNaC is not thread-safe (its reference counts are not atomic): use this module
// from one thread at a time.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <ginac/ginac.h>

namespace empo::reward {

struct ParseLimits {
  size_t max_input_bytes = 100 * 1024;
  long max_parse_steps = 60000;   // tokens the parser consumes (each step is O(1) GiNaC work)
  int max_depth = 100;            // nested groups, fractions, signs and exponents
  long max_number_bits = 20000;   // largest exact number one power/factorial/binomial may make
  long max_created_bits = 80000;  // all such numbers in one answer together
  int max_literal_digits = 2000;  // digits in one written number
  int max_symbols = 32;           // distinct variables in one answer
};

enum class ValueKind {
  empty,       // no answer
  invalid,     // a bound was exceeded; `text` says which
  expression,  // `expression`
  equation,    // `expression` = left side - right side (the left side is not a label)
  relation,    // `expression` > 0 (strict) or >= 0; inequalities in one variable become intervals
  not_equal,   // `expression` != 0: "x \neq 2", "x != 2"
  tuple,     // ordered `items` between `open` ('(' or '[') and `close` (')' or ']'): also intervals
  set,       // unordered `items`: \{...\}, or a bare list "1, 2" (also "1 \pm 2")
  union_of,  // unordered `items` joined by \cup
  matrix,    // `items` are the rows (tuples); single rows and columns are tuples instead
  choice,    // multiple-choice letter in `text`, e.g. "C" for "(C)" or "\textbf{(C)}"
  text,      // not math: `text` is the normalised string
};

struct MathValue {
  ValueKind kind = ValueKind::empty;
  GiNaC::ex expression;
  bool strict = false;
  std::vector<MathValue> items;
  char open = 0;
  char close = 0;
  std::string text;
  // A labelled answer "y = -x/2 + 3/4" (left side only symbols, as math-verify's assignment)
  // is the expression on the right; `assignment` keeps left - right so that it also equals
  // the same equation in another form (2x + 4y - 3 = 0).
  std::optional<GiNaC::ex> assignment;  // empty unless labelled (no cost for other values)
};

// Parses one extracted answer. Never throws for bad input: syntax that is not math gives
// `text`, a bound gives `invalid`, "" (or only spaces) gives `empty`.
MathValue parse_answer(const std::string& answer, const ParseLimits& limits = {});

// True for the kinds that hold math (not empty, invalid, choice or text).
bool is_math(const MathValue& value);

// Text normal form: no $, spaces, \left/\right, spacing commands or text wrappers,
// \dfrac/\tfrac -> \frac, lower case, no trailing period.
std::string normalize_text(const std::string& answer);

// A string equal for values that are certainly equivalent (same kind, same canonical GiNaC
// form, same text), used to group answers before pairwise comparison; "" for empty and
// invalid values, which are never grouped.
std::string canonical_key(const MathValue& value);

// Readable form for logs and tests, e.g. "tuple(1, 1/2]" or "expression 2*sqrt(2)".
std::string describe(const MathValue& value);

}  // namespace empo::reward
