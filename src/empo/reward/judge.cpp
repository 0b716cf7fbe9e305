#include "empo/reward/judge.h"
#include "empo/reward/answer.h"

#include <cctype>
#include <cmath>
#include <memory>

#include "empo/io/error.h"
#include "empo/io/jsonl.h"

namespace empo::reward {

namespace {

const char* const kPlaceholders[] = {"{question}", "{a}", "{b}"};

void require_placeholders(const std::string& text, const std::string& origin) {
  for (const char* placeholder : kPlaceholders)
    if (text.find(placeholder) == std::string::npos)
      throw InputError(origin + " lacks the placeholder " + placeholder +
                       " (a judge prompt needs {question}, {a} and {b})");
}

const std::string& general_verifier_template() {
  static const std::string text =
      "User: ### Question: {question}\n\n"
      "### Ground Truth Answer: {a}\n\n"
      "### Student Answer: {b}\n\n"
      "Compare the student answer with the ground truth answer for the question above. Do "
      "not solve the question yourself: decide only whether the two answers are equivalent "
      "in meaning. Reply with \"Final Decision: Yes\" if they are equivalent and with "
      "\"Final Decision: No\" if they are not.\n\n"
      "Assistant: Final Decision:";
  return text;
}

}  // namespace

JudgeMode judge_mode_from_name(const std::string& name) {
  if (name == "one_way") return JudgeMode::one_way;
  if (name == "bidirectional") return JudgeMode::bidirectional;
  throw InputError("unknown judge mode '" + name + "' (expected one_way or bidirectional)");
}

const std::string& default_judge_template() {
  static const std::string text =
      "Question: {question}\n\n"
      "Answer A: {a}\n\n"
      "Answer B: {b}\n\n"
      "If answer B is true, does answer A follow from it, as an answer to this question? "
      "Judge only the two answers; do not solve the question again. Reply Yes or No.\n"
      "Decision:";
  return text;
}

JudgePrompt judge_prompt_from_name(const std::string& name_or_file) {
  if (name_or_file == "general_verifier") return {general_verifier_template(), false};
  if (name_or_file == "entailment") return {default_judge_template(), true};
  JudgePrompt prompt{io::read_file(name_or_file), false};
  require_placeholders(prompt.text, "judge prompt " + name_or_file);
  return prompt;
}

Judge::Judge(YesNoScorer scorer, JudgeConfig config)
    : scorer_(std::move(scorer)), config_(std::move(config)) {
  if (!scorer_) throw InputError("judge: no scorer");
  if (config_.max_comparisons_per_question < 1) {
    throw InputError("judge: max_comparisons_per_question must be at least 1");
  }
  require_placeholders(config_.prompt_template, "judge prompt template");
}

std::string Judge::prompt(const std::string& question, const std::string& reference,
                          const std::string& candidate) const {
  const std::string* values[] = {&question, &reference, &candidate};
  const std::string& pattern = config_.prompt_template;
  std::string out;
  size_t i = 0;
  while (i < pattern.size()) {
    bool replaced = false;
    for (int k = 0; k < 3 && !replaced; ++k) {
      if (pattern.compare(i, std::char_traits<char>::length(kPlaceholders[k]), kPlaceholders[k]) ==
          0) {
        out += *values[k];
        i += std::char_traits<char>::length(kPlaceholders[k]);
        replaced = true;
      }
    }
    if (!replaced) out += pattern[i++];
  }
  return out;
}

bool Judge::accepts(const std::string& question, const std::string& reference,
                    const std::string& candidate) {
  std::string left = trim(reference);
  std::string right = trim(candidate);
  if (left.empty() || right.empty()) return false;
  if (left == right) return true;
  if (left.size() > config_.max_answer_bytes || right.size() > config_.max_answer_bytes) {
    ++bound_exceeded_;
    return false;
  }
  ++scorer_calls_;
  YesNoLogProbs scores = scorer_(prompt(question, left, right));
  // NaN compares false: a broken score never joins answers.
  return std::isfinite(scores.yes) && scores.yes > scores.no;
}

bool Judge::equivalent(const std::string& question, const std::string& a, const std::string& b) {
  if (!accepts(question, a, b)) return false;
  if (config_.mode == JudgeMode::one_way) return true;
  return accepts(question, b, a);
}

EquivalencePredicate Judge::predicate(const std::string& question) {
  auto decided = std::make_shared<long>(0);
  return [this, question, decided](const std::string& a, const std::string& b) {
    if (trim(a) == trim(b)) return !trim(a).empty();
    if (*decided >= config_.max_comparisons_per_question) {
      ++bound_exceeded_;
      return false;
    }
    ++*decided;
    return equivalent(question, a, b);
  };
}

}  // namespace empo::reward
