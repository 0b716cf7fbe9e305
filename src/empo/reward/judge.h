#pragma once
// Free-form equivalence through an LLM judge, without a model dependency: the caller plugs
// in a scorer that runs one forward pass of a judge model on the verification prompt and
// returns the log-probabilities of the next tokens " Yes" and " No". The judge accepts a
// candidate when P(" Yes") > P(" No"), as the authors read their verifier.
//
// One-way: "is the candidate (b) equivalent to the reference (a)?" (the authors' use, with the
// ground truth as reference). Bidirectional (the classic semantic-entropy rule, stricter):
// both answers must accept each other. The empty answer is never equivalent; identical
// answers are equivalent without a model call.
//
// The judge's work is bounded by counts, never by a clock: an answer longer than
// `max_answer_bytes` is never sent (it joins nothing), and a question's predicate() decides at
// most `max_comparisons_per_question` pairs with the model (1 or 2 forward passes each); the
// pairs after that are "not equivalent" without a call. cluster_with() asks pairs in a fixed
// order (sorted distinct answers), so the same answers always give the same clusters.
#include <functional>
#include <string>

#include "empo/reward/cluster.h"

namespace empo::reward {

struct YesNoLogProbs {
  double yes = 0;  // log P(" Yes" | prompt)
  double no = 0;   // log P(" No" | prompt)
};

// One forward pass of the judge model on the full prompt text.
using YesNoScorer = std::function<YesNoLogProbs(const std::string& prompt)>;

enum class JudgeMode { one_way, bidirectional };

// "one_way" or "bidirectional"; InputError otherwise.
JudgeMode judge_mode_from_name(const std::string& name);

// A judge prompt: a template with the placeholders {question}, {a} (the reference: the
// ground truth, or the first answer of a pair) and {b} (the candidate), ending where the
// model's next token is the decision. `chat_turn`: sent as a chat user turn through the judge
// model's chat template; otherwise sent verbatim (a template that writes its own turns).
struct JudgePrompt {
  std::string text;
  bool chat_turn = true;
};

// The built-in prompts (config key judge_prompt):
//  - "general_verifier": the structure TIGER-Lab/general-verifier was trained on (a "User:"
//    turn with "### Question", "### Ground Truth Answer" and "### Student Answer" sections,
//    an instruction to compare without solving, then "Assistant: Final Decision:"), in our
//    own words, sent verbatim. For the real verifier, pass its model card's exact wording as
//    a FILE.
//  - "entailment": does answer b entail answer a (with judge_direction bidirectional: the
//    classic mutual-entailment rule of semantic entropy), sent as a chat turn.
// Anything else is a template FILE, read and sent verbatim; InputError when it cannot be read
// or lacks a placeholder.
JudgePrompt judge_prompt_from_name(const std::string& name_or_file);

// The "entailment" prompt's template (JudgeConfig's default).
const std::string& default_judge_template();

struct JudgeConfig {
  JudgeMode mode = JudgeMode::bidirectional;
  std::string prompt_template = default_judge_template();
  long max_comparisons_per_question = 64;  // model-decided pairs per predicate(); >= 1
  size_t max_answer_bytes = 2048;          // longer answers are never sent to the model
};

class Judge {
 public:
  // InputError when the template lacks one of the three placeholders.
  explicit Judge(YesNoScorer scorer, JudgeConfig config = {});

  // The template with its placeholders replaced (the inserted text is not scanned again).
  std::string prompt(const std::string& question, const std::string& reference,
                     const std::string& candidate) const;

  // One direction: P(" Yes") > P(" No") on prompt(question, reference, candidate).
  bool accepts(const std::string& question, const std::string& reference,
               const std::string& candidate);

  // By the configured mode; with one_way, `a` is the reference and `b` the candidate.
  bool equivalent(const std::string& question, const std::string& a, const std::string& b);

  // For cluster_with(): equivalence of two answers to `question`, with its own budget of
  // max_comparisons_per_question model-decided pairs.
  EquivalencePredicate predicate(const std::string& question);

  long scorer_calls() const { return scorer_calls_; }
  // Pairs and answers refused by a bound (counted, never sent to the model).
  long bound_exceeded() const { return bound_exceeded_; }

 private:
  YesNoScorer scorer_;
  JudgeConfig config_;
  long scorer_calls_ = 0;
  long bound_exceeded_ = 0;
};

}  // namespace empo::reward
