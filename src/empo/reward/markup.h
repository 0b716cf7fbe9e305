#pragma once
// Markup stripping, the first stage of reading an answer: math delimiters, text wrappers
// (\\text, \\mathrm, ...), spacing and sizing commands, and the multiple-choice letter. Also
// the text normal form of answers that are not math (normalize_text in latex.h).
// Internal to src/empo/reward (namespace detail): use parse_answer().
#include <cctype>
#include <set>
#include <string>

namespace empo::reward::detail {

inline bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}
inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
inline bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

inline std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Commands whose brace argument is kept and whose braces vanish: \\text{5} -> 5.
const std::set<std::string>& wrapper_commands();
// Commands that only change spacing or delimiter size: \\quad, \\left, \\displaystyle, ...
const std::set<std::string>& spacing_commands();

// Removes wrappers, spacing and sizing commands and '$'; with `fold`, also spaces, case and
// the \\dfrac/\\tfrac spellings (the full text normal form).
std::string strip_markup(const std::string& answer, bool fold);

// "(C)", "C" (A-E only: a bare later letter is more likely a variable), "(C) 42",
// "\\textbf{(C)}": the letter, or 0.
char choice_letter(const std::string& answer);

// Removes the math delimiters ($...$, also between list items as in "$1$, $2$"), surrounding
// space and a sentence's final period.
std::string strip_delimiters(const std::string& answer);

}  // namespace empo::reward::detail
