#pragma once
// The rollout stage of a training step as plain data: questions with their G samples, what
// the samples earned, the entropy-band verdict, and which groups the update will learn from
// (dynamic sampling replaces the groups that teach nothing). Generation itself is a function
// passed in, so the selection rules and the metrics are tested without a model.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "empo/data/prompt_source.h"
#include "empo/generate/engine.h"
#include "empo/io/jsonl.h"
#include "empo/rl/config.h"
#include "empo/rl/rewards.h"

namespace empo::rl {

// One question of a rollout batch and what its samples earned.
struct Group {
  data::Question question;
  std::vector<int64_t> prompt;
  std::vector<generate::Sample> samples;
  std::vector<std::string> texts;
  GroupScore score;
  BandVerdict band = BandVerdict::keep;
  bool zero_std = false;  // every reward equal: zero advantage, nothing to learn
};

// Fills each group's score, band and zero_std from its texts (score_groups: the batch's
// answers are clustered together): token_signals[i] belongs to groups[i] (as in score_group;
// empty when the reward reads none).
void score_rollout_groups(std::vector<Group>& groups, const RewardSettings& settings,
                          const std::vector<std::vector<double>>& token_signals,
                          const AnswerEquivalence& equivalence, const EntropyBand& band);

// A group the update learns from: inside the band, and with non-zero reward std when
// dynamic_sampling asks to replace the others.
bool trainable(const Group& group, const TrainConfig& config);

struct Rollout {
  std::vector<Group> drawn;          // the first draw, for the rollout metrics
  std::vector<Group> kept;           // this process's groups to learn from
  std::size_t resampled_groups = 0;  // groups drawn by dynamic sampling, over every process
  std::size_t kept_everywhere = 0;   // kept groups over every process
};

// draw(n): n new questions over every process together, this process's share sampled and
// scored. count_everywhere(local): a sum over every process.
using DrawGroups = std::function<std::vector<Group>(std::size_t count)>;
using CountEverywhere = std::function<std::size_t(std::size_t local)>;

// Draws `wanted` questions; with dynamic_sampling, draws the missing number again (at most
// max_resample_rounds times) until `wanted` trainable groups exist over every process.
Rollout collect_rollout(std::size_t wanted, const TrainConfig& config, const DrawGroups& draw,
                        const CountEverywhere& count_everywhere);

// Sums of one process's groups, reduced over processes before rollout_metrics reads them.
struct RolloutSums {
  enum Index {
    kReward,
    kRewardSquares,
    kSamples,
    kEntropy,
    kClusters,
    kGroups,
    kZeroStd,
    kBelow,
    kAbove,
    kLength,
    kTruncated,
    kCorrect,
    kLabelled,
    kMajority,
    kLabelledGroups,
    kCopied,  // samples whose answer copies the question (copy_question_rouge)
    kCopyChecked,
    kSmallMajority,  // groups below min_majority_share
    kMajorityChecked,
    kMajorityShare,  // the largest cluster's share of its group's samples (0: no answers)
    kFlipped,        // AnswerFlips' counts, which the trainer fills in (rank 0's questions)
    kRevisited,
    kCount
  };
  std::vector<double> sums = std::vector<double>(kCount, 0.0);
  double shortest = 0;  // +inf when there is no sample
  double longest = 0;
};

RolloutSums rollout_sums(const std::vector<Group>& groups);

// TRL's metric names plus EMPO's own (README "Metrics"), from sums over every process.
io::Json rollout_metrics(const RolloutSums& reduced, int num_generations);

}  // namespace empo::rl
