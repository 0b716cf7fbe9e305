#pragma once
// Running a policy on labelled questions: greedy pass@1 and k sampled completions per
// question (avg@k, maj@k), graded with the same answer extraction and equivalence the
// trainer uses. Used by `empo eval`, the demo and in-training monitoring.
#include <functional>
#include <string>
#include <vector>

#include "empo/eval/benchmark.h"
#include "empo/generate/policy.h"
#include "empo/rl/rewards.h"

namespace empo::rl {

struct EvalSettings {
  generate::PromptSettings prompt;
  int64_t max_new_tokens = 3000;
  bool greedy = true;
  int64_t samples = 0;                // k sampled completions per question; 0: none
  generate::SamplingParams sampling;  // for the k samples
  uint64_t seed = 0;
  int64_t prompts_per_batch = 16;
  bool cuda_graphs = false;                    // GenerationConfig::cuda_graphs
  generate::DecodeSession* session = nullptr;  // GenerationConfig::session
  // The KV budget: this share of the device's free memory (rollout_memory_fraction).
  double memory_fraction = TrainConfig{}.rollout_memory_fraction;
  reward::AnswerConfig answer;
  AnswerEquivalence equivalence = math_equivalence();
  // Called after each batch of questions: pass "greedy" or "sampled", questions done, total.
  std::function<void(const std::string& pass, size_t done, size_t total)> on_progress;
};

// results[i] belongs to questions[i]; samples are clustered with the equivalence.
std::vector<eval::QuestionResult> evaluate_questions(const generate::Policy& policy,
                                                     const std::vector<data::Question>& questions,
                                                     const EvalSettings& settings);

// Settings from a training config (prompt, extraction, equivalence, sampling), k samples.
EvalSettings eval_settings_from(const TrainConfig& config, const AnswerEquivalence& equivalence,
                                int64_t samples);

}  // namespace empo::rl
