#include "empo/rl/rollout.h"

#include <cmath>
#include <limits>

#include "empo/rl/advantage.h"

namespace empo::rl {

void score_rollout_groups(std::vector<Group>& groups, const RewardSettings& settings,
                          const std::vector<std::vector<double>>& token_signals,
                          const AnswerEquivalence& equivalence, const EntropyBand& band) {
  std::vector<data::Question> questions;
  std::vector<std::vector<std::string>> texts;
  for (const auto& group : groups) {
    questions.push_back(group.question);
    texts.push_back(group.texts);
  }
  auto scores = score_groups(settings, questions, texts, token_signals, equivalence);
  for (size_t q = 0; q < groups.size(); ++q) {
    auto& group = groups[q];
    group.score = std::move(scores[q]);
    group.band = entropy_band_verdict(group.score.normalized_entropy, band);
    group.zero_std =
        unbiased_std(group.score.rewards.data(), group.score.rewards.size()) < kZeroStdThreshold;
  }
}

bool trainable(const Group& group, const TrainConfig& config) {
  return group.band == BandVerdict::keep && !(config.dynamic_sampling && group.zero_std);
}

Rollout collect_rollout(std::size_t wanted, const TrainConfig& config, const DrawGroups& draw,
                        const CountEverywhere& count_everywhere) {
  Rollout rollout;
  rollout.drawn = draw(wanted);
  for (const auto& group : rollout.drawn)
    if (trainable(group, config)) rollout.kept.push_back(group);
  rollout.kept_everywhere = count_everywhere(rollout.kept.size());
  for (int round = 0; config.dynamic_sampling && round < config.max_resample_rounds &&
                      rollout.kept_everywhere < wanted;
       ++round) {
    auto replacements = draw(wanted - rollout.kept_everywhere);
    rollout.resampled_groups += count_everywhere(replacements.size());
    for (auto& group : replacements)
      if (trainable(group, config)) rollout.kept.push_back(std::move(group));
    rollout.kept_everywhere = count_everywhere(rollout.kept.size());
  }
  return rollout;
}

RolloutSums rollout_sums(const std::vector<Group>& groups) {
  using S = RolloutSums;
  RolloutSums result;
  auto& sums = result.sums;
  result.shortest = std::numeric_limits<double>::infinity();
  for (const auto& group : groups) {
    for (double reward : group.score.rewards) {
      sums[S::kReward] += reward;
      sums[S::kRewardSquares] += reward * reward;
      sums[S::kSamples] += 1;
    }
    sums[S::kEntropy] += group.score.clustering.entropy;
    sums[S::kClusters] += static_cast<double>(group.score.clustering.cluster_sizes.size());
    sums[S::kGroups] += 1;
    sums[S::kMajorityShare] += group.score.majority_share;
    sums[S::kZeroStd] += group.zero_std;
    sums[S::kBelow] += group.band == BandVerdict::below;
    sums[S::kAbove] += group.band == BandVerdict::above;
    for (const auto& sample : group.samples) {
      const double length = static_cast<double>(sample.tokens.size());
      sums[S::kLength] += length;
      result.shortest = std::min(result.shortest, length);
      result.longest = std::max(result.longest, length);
      sums[S::kTruncated] += sample.finish == generate::FinishReason::kLength;
    }
    for (bool correct : group.score.correct) {
      sums[S::kCorrect] += correct;
      sums[S::kLabelled] += 1;
    }
    if (!group.score.correct.empty()) {
      sums[S::kMajority] += group.score.majority_correct;
      sums[S::kLabelledGroups] += 1;
    }
    for (bool copies : group.score.copies_question) {
      sums[S::kCopied] += copies;
      sums[S::kCopyChecked] += 1;
    }
    if (group.score.majority_share_checked) {
      sums[S::kSmallMajority] += group.score.below_majority_share;
      sums[S::kMajorityChecked] += 1;
    }
  }
  return result;
}

io::Json rollout_metrics(const RolloutSums& reduced, int num_generations) {
  using S = RolloutSums;
  const auto& sums = reduced.sums;
  auto ratio = [](double numerator, double denominator) {
    return denominator > 0 ? numerator / denominator : 0.0;
  };
  const double entropy_mean = ratio(sums[S::kEntropy], sums[S::kGroups]);
  io::Json metrics;
  metrics["reward"] = ratio(sums[S::kReward], sums[S::kSamples]);
  metrics["reward_std"] = pooled_std(sums[S::kReward], sums[S::kRewardSquares], sums[S::kSamples]);
  metrics["frac_reward_zero_std"] = ratio(sums[S::kZeroStd], sums[S::kGroups]);
  metrics["completions/mean_length"] = ratio(sums[S::kLength], sums[S::kSamples]);
  metrics["completions/min_length"] = std::isfinite(reduced.shortest) ? reduced.shortest : 0.0;
  metrics["completions/max_length"] = reduced.longest;
  metrics["completions/clipped_ratio"] = ratio(sums[S::kTruncated], sums[S::kSamples]);
  metrics["empo/semantic_entropy"] = entropy_mean;
  metrics["empo/normalized_entropy"] =
      entropy_mean / std::log(static_cast<double>(std::max(2, num_generations)));
  metrics["empo/num_clusters"] = ratio(sums[S::kClusters], sums[S::kGroups]);
  metrics["empo/majority_share"] = ratio(sums[S::kMajorityShare], sums[S::kGroups]);
  metrics["empo/flip_rate"] = ratio(sums[S::kFlipped], sums[S::kRevisited]);
  metrics["empo/filtered_low"] = ratio(sums[S::kBelow], sums[S::kGroups]);
  metrics["empo/filtered_high"] = ratio(sums[S::kAbove], sums[S::kGroups]);
  // The free-form rules' metrics, only when the rule is on.
  if (sums[S::kCopyChecked] > 0)
    metrics["empo/copied_question"] = ratio(sums[S::kCopied], sums[S::kCopyChecked]);
  if (sums[S::kMajorityChecked] > 0)
    metrics["empo/small_majority"] = ratio(sums[S::kSmallMajority], sums[S::kMajorityChecked]);
  if (sums[S::kLabelled] > 0) {
    metrics["monitor/accuracy"] = ratio(sums[S::kCorrect], sums[S::kLabelled]);
    metrics["monitor/majority_accuracy"] = ratio(sums[S::kMajority], sums[S::kLabelledGroups]);
  }
  return metrics;
}

}  // namespace empo::rl
