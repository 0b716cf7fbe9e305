#pragma once
// What each sample earns (EMPO.md "One training step"): its cluster's share (empo), 1 for the
// majority cluster (ttrl), 1 for matching the golden answer (supervised, labels needed), or a
// token-level confidence (self_certainty, token_entropy); plus the entropy band filter.
// Torch-free: token-level signals arrive as plain numbers.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "empo/data/prompt_source.h"
#include "empo/reward/answer.h"
#include "empo/reward/cluster.h"
#include "empo/reward/judge.h"
#include "empo/reward/judge_clustering.h"
#include "empo/rl/config.h"

namespace empo::rl {

// How answers are compared: clustering a question's answers, and matching one against a
// golden answer (supervised reward, accuracy monitoring).
struct AnswerEquivalence {
  std::function<reward::Clustering(const std::string& question,
                                   const std::vector<std::string>& answers)>
      cluster;
  std::function<bool(const std::string& question, const std::string& answer,
                     const std::string& golden)>
      matches;
  // Optional: the clusterings of many questions at once, result[i] = cluster(inputs[i]) (the
  // LLM judge sends each round of all of them as one batch); score_groups uses it when set.
  std::function<std::vector<reward::Clustering>(
      const std::vector<reward::JudgeClusteringInput>& inputs)>
      cluster_many;
};

AnswerEquivalence math_equivalence(const reward::EquivalenceConfig& config = {});
AnswerEquivalence exact_equivalence();
AnswerEquivalence judge_equivalence(std::shared_ptr<reward::Judge> judge);

reward::AnswerConfig answer_config(const TrainConfig& config);

// The golden answers of a question in comparable form (a "solution" has its final answer
// extracted first). Empty when the question is unlabeled.
std::vector<std::string> golden_answers(const data::Question& question,
                                        const reward::AnswerConfig& answer_config);

struct GroupScore {
  std::vector<std::string> answers;  // extracted, "" when none
  reward::Clustering clustering;
  std::vector<double> rewards;
  double normalized_entropy = 0;  // H / log G
  int majority_cluster = -1;      // largest cluster of non-empty answers; -1 when all empty
  double majority_share = 0;      // that cluster's share of the G samples; 0 when all empty
  // Monitoring only (labels never reach the unsupervised rewards): per-sample and majority
  // correctness, empty when the question has no golden answer.
  std::vector<bool> correct;
  bool majority_correct = false;
  // The free-form rules (RewardSettings): which answers copy the question (empty when the
  // rule is off), and whether the majority was too small, so every reward is 0.
  std::vector<bool> copies_question;
  bool majority_share_checked = false;  // min_majority_share is on for this reward
  bool below_majority_share = false;
};

struct RewardSettings {
  RewardType type = RewardType::empo;
  double empty_answer_reward = 0.0;
  reward::AnswerConfig answer;
  // The authors' free-form rules for the answer-based rewards (empo, ttrl, supervised): an
  // answer that copies the question (reward/rouge.h copies_question with this ROUGE-L
  // precision threshold; 0: off) earns copy_question_reward; and (empo, ttrl) a question whose
  // largest cluster holds less than min_majority_share of its samples earns 0 on every sample
  // (0: off).
  double copy_question_rouge = 0.0;
  double copy_question_reward = 0.0;
  double min_majority_share = 0.0;
};

RewardSettings reward_settings(const TrainConfig& config);

// token_signal[i]: sample i's mean self-certainty (self_certainty) or mean token entropy
// (token_entropy); ignored by the other rewards.
GroupScore score_group(const RewardSettings& settings, const data::Question& question,
                       const std::vector<std::string>& completions,
                       const std::vector<double>& token_signal,
                       const AnswerEquivalence& equivalence);

// score_group of many questions, their answers clustered together through
// equivalence.cluster_many when set (else one cluster call per question): result[i] belongs to
// questions[i], completions[i] and token_signals[i] (token_signals may be empty when the reward
// reads none).
std::vector<GroupScore> score_groups(const RewardSettings& settings,
                                     const std::vector<data::Question>& questions,
                                     const std::vector<std::vector<std::string>>& completions,
                                     const std::vector<std::vector<double>>& token_signals,
                                     const AnswerEquivalence& equivalence);

// The largest cluster among non-empty answers; ties go to the cluster whose smallest answer
// string is smallest, so the choice does not depend on sample order.
int majority_cluster(const reward::Clustering& clustering, const std::vector<std::string>& answers);

enum class BandVerdict { keep, below, above };
BandVerdict entropy_band_verdict(double normalized_entropy, const EntropyBand& band);

}  // namespace empo::rl
