#include "empo/rl/rollout.h"

#include <gtest/gtest.h>

#include <cmath>

#include "empo/rl/advantage.h"

namespace empo::rl {

namespace {

// A group whose G = 4 rewards are `rewards`, scored with the real score rules' outputs.
Group group_with(std::vector<double> rewards, BandVerdict band = BandVerdict::keep) {
  Group group;
  group.score.rewards = std::move(rewards);
  group.score.clustering.cluster_sizes = {2, 2};
  group.score.clustering.entropy = std::log(2.0);
  group.band = band;
  group.zero_std = unbiased_std(group.score.rewards.data(), group.score.rewards.size()) == 0.0;
  for (size_t i = 0; i < group.score.rewards.size(); ++i) {
    generate::Sample sample;
    sample.tokens.assign(3 + i, 1);
    sample.finish = i == 0 ? generate::FinishReason::kLength : generate::FinishReason::kStop;
    group.samples.push_back(sample);
  }
  return group;
}

CountEverywhere one_process() {
  return [](std::size_t local) { return local; };
}

}  // namespace

TEST(Rollout, DynamicSamplingReplacesGroupsThatTeachNothing) {
  TrainConfig config;
  config.dynamic_sampling = true;
  config.max_resample_rounds = 3;
  // The first draw of 4 has two zero-std groups; the next draws give one usable group each.
  int draws = 0;
  std::vector<std::size_t> asked;
  DrawGroups draw = [&](std::size_t count) {
    asked.push_back(count);
    std::vector<Group> groups;
    for (std::size_t i = 0; i < count; ++i)
      groups.push_back(draws == 0 && i < 2  ? group_with({1, 1, 1, 1})
                       : draws > 0 && i > 0 ? group_with({0, 0, 0, 0})
                                            : group_with({1, 0, 0, 1}));
    ++draws;
    return groups;
  };
  auto rollout = collect_rollout(4, config, draw, one_process());
  EXPECT_EQ(asked, (std::vector<std::size_t>{4, 2, 1}));
  EXPECT_EQ(rollout.kept.size(), 4u);
  for (const auto& group : rollout.kept) EXPECT_FALSE(group.zero_std);
  EXPECT_EQ(rollout.resampled_groups, 3u);  // groups drawn again, not the kept count
  EXPECT_EQ(rollout.kept_everywhere, 4u);
  EXPECT_EQ(rollout.drawn.size(), 4u);  // the metrics describe the first draw
}

TEST(Rollout, WithoutDynamicSamplingZeroStdGroupsStayAndTheBandFilters) {
  TrainConfig config;
  int draws = 0;
  DrawGroups draw = [&](std::size_t count) {
    ++draws;
    return std::vector<Group>{group_with({1, 1, 1, 1}), group_with({1, 0, 1, 0}),
                              group_with({0, 1, 0, 0}, BandVerdict::above)};
  };
  auto rollout = collect_rollout(3, config, draw, one_process());
  EXPECT_EQ(draws, 1);
  EXPECT_EQ(rollout.kept.size(), 2u);
  EXPECT_EQ(rollout.resampled_groups, 0u);
}

TEST(Rollout, MetricsReadTheReducedSums) {
  std::vector<Group> groups{group_with({1, 0, 0, 1}), group_with({1, 1, 1, 1}, BandVerdict::below)};
  auto sums = rollout_sums(groups);
  auto metrics = rollout_metrics(sums, 4);
  EXPECT_DOUBLE_EQ(metrics["reward"].get<double>(), 6.0 / 8.0);
  // Unbiased std of (1,0,0,1,1,1,1,1): mean 0.75, squares 6 -> (6 - 8 * 0.5625) / 7.
  EXPECT_NEAR(metrics["reward_std"].get<double>(), std::sqrt(1.5 / 7.0), 1e-12);
  EXPECT_DOUBLE_EQ(metrics["frac_reward_zero_std"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(metrics["empo/filtered_low"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(metrics["completions/clipped_ratio"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(metrics["completions/min_length"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(metrics["completions/max_length"].get<double>(), 6.0);
  EXPECT_NEAR(metrics["empo/normalized_entropy"].get<double>(), std::log(2.0) / std::log(4.0),
              1e-12);
  EXPECT_FALSE(metrics.contains("monitor/accuracy"));  // no labels, no monitor
}

// The majority share, from answers scored by the real rules: the largest cluster of non-empty
// answers over all G samples (an unanswered sample counts in G, never in a cluster).
TEST(Rollout, MajorityShareIsTheLargestClustersShareOfTheSamples) {
  RewardSettings settings;  // empo, boxed answers
  data::Question question;
  question.text = "What is 1 + 1?";
  const auto equivalence = exact_equivalence();
  std::vector<Group> groups(3);
  groups[0].score =
      score_group(settings, question, {"\\boxed{2}", "so \\boxed{2}", "\\boxed{3}", "no answer"},
                  {}, equivalence);
  groups[1].score =
      score_group(settings, question, {"\\boxed{5}", "\\boxed{5}", "\\boxed{5}", "\\boxed{5}"}, {},
                  equivalence);
  groups[2].score =
      score_group(settings, question, {"none", "none", "none", "none"}, {}, equivalence);
  auto metrics = rollout_metrics(rollout_sums(groups), 4);
  EXPECT_DOUBLE_EQ(metrics["empo/majority_share"].get<double>(), (2.0 / 4.0 + 1.0 + 0.0) / 3.0);
}

}  // namespace empo::rl
