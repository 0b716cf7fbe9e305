#include "empo/reward/judge.h"
#include "empo/reward/answer.h"

#include <cctype>
#include <cmath>
#include <memory>

#include "empo/io/error.h"

namespace empo::reward {

namespace {

const char* const kPlaceholders[] = {"{question}", "{reference}", "{candidate}"};

}  // namespace

JudgeMode judge_mode_from_name(const std::string& name) {
  if (name == "one_way") return JudgeMode::one_way;
  if (name == "bidirectional") return JudgeMode::bidirectional;
  throw InputError("unknown judge mode '" + name + "' (expected one_way or bidirectional)");
}

const std::string& default_judge_template() {
  static const std::string text =
      "Question: {question}\n\n"
      "Reference answer: {reference}\n\n"
      "Candidate answer: {candidate}\n\n"
      "Does the candidate answer mean the same as the reference answer? Judge only whether "
      "the two final answers are equivalent; do not solve the question again. Reply Yes or "
      "No.\nDecision:";
  return text;
}

Judge::Judge(YesNoScorer scorer, JudgeConfig config)
    : scorer_(std::move(scorer)), config_(std::move(config)) {
  if (!scorer_) throw InputError("judge: no scorer");
  if (config_.max_comparisons_per_question < 1) {
    throw InputError("judge: max_comparisons_per_question must be at least 1");
  }
  for (const char* placeholder : kPlaceholders) {
    if (config_.prompt_template.find(placeholder) == std::string::npos) {
      throw InputError(std::string("judge prompt template lacks ") + placeholder);
    }
  }
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
