#pragma once
// Final-answer extraction from a completion. The default reads the content of the last
// \boxed{...} / \fbox{...} (nested braces, also `\boxed 5`), as in the authors' prompts;
// "" means "no answer" (the empty answer, which equals nothing). Fallbacks for completions
// without a box are opt-in, because a fallback that guesses rewards guessing.
#include <string>
#include <vector>

namespace empo::reward {

enum class AnswerFormat {
  boxed,        // last complete \boxed{...} or \fbox{...}
  hash_dollar,  // synthetic demo task: the text after the last '#' up to a '$' terminator
  full,         // free-form answers: the whole completion
};

enum class AnswerFallback {
  answer_is,  // "... the answer is X" (case-insensitive; X runs to the end of its line or sentence)
  answer_colon,  // "Answer: X" (case-insensitive; X runs to the end of its line)
  last_number,   // the last number in the text, e.g. "-3.5" or "1,000"
};

struct AnswerConfig {
  AnswerFormat format = AnswerFormat::boxed;
  // Tried in order when the format finds nothing (boxed format only).
  std::vector<AnswerFallback> fallbacks;
};

// Names used in configs and on the command line: "boxed", "hash_dollar", "full"; and "answer_is",
// "answer_colon", "last_number". InputError for unknown names.
AnswerFormat answer_format_from_name(const std::string& name);
AnswerFallback answer_fallback_from_name(const std::string& name);

// The final answer of `completion`, trimmed; "" when there is none.
std::string extract_answer(const std::string& completion, const AnswerConfig& config = {});

// `text` without leading and trailing whitespace (answers are compared trimmed).
std::string trim(const std::string& text);

}  // namespace empo::reward
