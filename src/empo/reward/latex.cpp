#include "empo/reward/latex.h"

#include "empo/reward/markup.h"
#include "empo/reward/parser.h"

namespace empo::reward {

using detail::BoundError;
using detail::make_text;

// Markup -> lexer -> parser; whatever is not math falls back to its text normal form.
MathValue parse_answer(const std::string& answer, const ParseLimits& limits) {
  if (answer.size() > limits.max_input_bytes) {
    return make_text(ValueKind::invalid,
                     "answer longer than " + std::to_string(limits.max_input_bytes) + " bytes");
  }
  std::string source = detail::strip_delimiters(answer);
  if (source.empty()) return MathValue{};
  if (char letter = detail::choice_letter(source))
    return make_text(ValueKind::choice, std::string(1, letter));
  try {
    std::vector<detail::Token> tokens = detail::lex(source, limits);
    return detail::parse_tokens(std::move(tokens), limits);
  } catch (const BoundError& error) {
    return make_text(ValueKind::invalid, error.what());
  } catch (const std::exception&) {
    // Not math (SyntaxError), or math GiNaC rejects, such as a division by zero.
  }
  std::string text = normalize_text(source);
  if (text.empty()) return MathValue{};
  return make_text(ValueKind::text, text);
}

}  // namespace empo::reward
