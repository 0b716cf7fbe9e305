#include "empo/rl/rewards.h"

#include <gtest/gtest.h>

#include <cmath>

#include "empo/io/error.h"

namespace empo::rl {

namespace {

// Four samples: two agree on 12, one says 13, one has no answer.
const std::vector<std::string> kCompletions = {"10+2=12,#12$", "#12$", "#13$", "10+2="};

data::Question question(std::vector<std::string> answers = {}) {
  data::Question q;
  q.id = "q";
  q.text = "10+2=";
  q.answers = std::move(answers);
  return q;
}

RewardSettings settings(RewardType type) {
  RewardSettings result;
  result.type = type;
  result.empty_answer_reward = -0.5;
  result.answer.format = reward::AnswerFormat::hash_dollar;
  return result;
}

}  // namespace

TEST(Rewards, EmpoIsTheClusterShare) {
  auto score =
      score_group(settings(RewardType::empo), question(), kCompletions, {}, exact_equivalence());
  EXPECT_EQ(score.answers, (std::vector<std::string>{"12", "12", "13", ""}));
  EXPECT_EQ(score.rewards, (std::vector<double>{0.5, 0.5, 0.25, -0.5}));
  // Clusters {12, 12}, {13}, {""}: H = -(1/2 ln 1/2 + 2 x 1/4 ln 1/4), normalised by ln 4.
  const double H = -(0.5 * std::log(0.5) + 2 * 0.25 * std::log(0.25));
  EXPECT_NEAR(score.clustering.entropy, H, 1e-12);
  EXPECT_NEAR(score.normalized_entropy, H / std::log(4.0), 1e-12);
  EXPECT_TRUE(score.correct.empty());  // unlabeled: nothing to monitor
}

TEST(Rewards, TtrlSupervisedAndTokenLevel) {
  auto ttrl =
      score_group(settings(RewardType::ttrl), question(), kCompletions, {}, exact_equivalence());
  EXPECT_EQ(ttrl.rewards, (std::vector<double>{1, 1, 0, -0.5}));
  auto supervised = score_group(settings(RewardType::supervised), question({"13"}), kCompletions,
                                {}, exact_equivalence());
  EXPECT_EQ(supervised.rewards, (std::vector<double>{0, 0, 1, -0.5}));
  EXPECT_EQ(supervised.correct, (std::vector<bool>{false, false, true, false}));
  EXPECT_FALSE(supervised.majority_correct);  // the majority says 12
  EXPECT_THROW(score_group(settings(RewardType::supervised), question(), kCompletions, {},
                           exact_equivalence()),
               InputError);
  std::vector<double> signal = {0.1, 0.2, 0.3, 0.4};
  auto certainty = score_group(settings(RewardType::self_certainty), question(), kCompletions,
                               signal, exact_equivalence());
  EXPECT_EQ(certainty.rewards, signal);
  auto entropy = score_group(settings(RewardType::token_entropy), question(), kCompletions, signal,
                             exact_equivalence());
  EXPECT_EQ(entropy.rewards, (std::vector<double>{-0.1, -0.2, -0.3, -0.4}));
}

TEST(Rewards, MathEquivalenceJoinsEqualValues) {
  RewardSettings boxed = settings(RewardType::empo);
  boxed.answer.format = reward::AnswerFormat::boxed;
  auto score = score_group(boxed, question({"1/2"}),
                           {"\\boxed{\\frac12}", "so \\boxed{0.5}", "\\boxed{2/4}", "\\boxed{3}"},
                           {}, math_equivalence());
  EXPECT_EQ(score.rewards, (std::vector<double>{0.75, 0.75, 0.75, 0.25}));
  EXPECT_TRUE(score.majority_correct);
  EXPECT_EQ(score.correct, (std::vector<bool>{true, true, true, false}));
}

TEST(Rewards, MajorityTieDoesNotDependOnSampleOrder) {
  auto forward =
      score_group(settings(RewardType::ttrl), question(), {"#7$", "#5$"}, {}, exact_equivalence());
  auto backward =
      score_group(settings(RewardType::ttrl), question(), {"#5$", "#7$"}, {}, exact_equivalence());
  // Tied clusters: the one whose answer sorts first ("5") is the majority either way.
  EXPECT_EQ(forward.rewards, (std::vector<double>{0, 1}));
  EXPECT_EQ(backward.rewards, (std::vector<double>{1, 0}));
}

TEST(Rewards, EntropyBandAndGoldenAnswers) {
  EntropyBand band{0.2, 0.9};
  EXPECT_EQ(entropy_band_verdict(0.1, band), BandVerdict::below);
  EXPECT_EQ(entropy_band_verdict(0.5, band), BandVerdict::keep);
  EXPECT_EQ(entropy_band_verdict(1.0, band), BandVerdict::above);
  EXPECT_EQ(entropy_band_verdict(1.0 + 1e-12, EntropyBand{0, 1}), BandVerdict::keep);  // rounding
  data::Question solved = question({"We add them and get \\boxed{12}."});
  solved.answer_from_solution = true;
  EXPECT_EQ(golden_answers(solved, {}), (std::vector<std::string>{"12"}));
}

}  // namespace empo::rl
