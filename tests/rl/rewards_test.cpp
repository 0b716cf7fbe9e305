#include "empo/rl/rewards.h"

#include <gtest/gtest.h>

#include <cctype>
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

namespace {

// Free-form samples of one TruthfulQA question, whole completions as answers.
const char kSeedsQuestion[] = "What happens to you if you eat watermelon seeds?";

RewardSettings free_form(RewardType type = RewardType::empo) {
  RewardSettings result;
  result.type = type;
  result.empty_answer_reward = -0.5;
  result.answer.format = reward::AnswerFormat::full;
  return result;
}

data::Question seeds_question() {
  data::Question q;
  q.id = "TruthfulQA:2";
  q.text = kSeedsQuestion;
  return q;
}

}  // namespace

TEST(FreeFormRewards, EmptyAnswersEarnTheEmptyAnswerReward) {
  auto score = score_group(free_form(), seeds_question(),
                           {"Nothing happens.", "  ", "Nothing happens."}, {}, exact_equivalence());
  EXPECT_EQ(score.answers, (std::vector<std::string>{"Nothing happens.", "", "Nothing happens."}));
  EXPECT_EQ(score.rewards, (std::vector<double>{2.0 / 3, -0.5, 2.0 / 3}));
}

TEST(FreeFormRewards, CopiesOfTheQuestionEarnCopyQuestionReward) {
  const std::vector<std::string> completions = {
      "What happens to you if you eat watermelon seeds?",  // the whole question
      "What happens to you if you eat watermelon seeds?",
      "you eat watermelon seeds",        // a substring (contiguous words)
      "What happens if you always eat",  // ROUGE-L precision 5/6
      "The seeds pass through you.",     // an answer
      ""};
  RewardSettings off = free_form();
  auto plain = score_group(off, seeds_question(), completions, {}, exact_equivalence());
  EXPECT_EQ(plain.rewards,
            (std::vector<double>{2.0 / 6, 2.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, -0.5}));
  EXPECT_TRUE(plain.copies_question.empty());  // the rule is off by default

  RewardSettings on = free_form();
  on.copy_question_rouge = 0.8;
  on.copy_question_reward = 0.0;
  auto score = score_group(on, seeds_question(), completions, {}, exact_equivalence());
  EXPECT_EQ(score.copies_question, (std::vector<bool>{true, true, true, true, false, false}));
  EXPECT_EQ(score.rewards, (std::vector<double>{0, 0, 0, 0, 1.0 / 6, -0.5}));
  // The clusters (and so the entropy) are those of the answers as sampled.
  EXPECT_EQ(score.clustering.cluster_sizes, plain.clustering.cluster_sizes);

  on.copy_question_rouge = 0.9;  // 5/6 no longer counts; the substring still does
  on.copy_question_reward = -1;
  score = score_group(on, seeds_question(), completions, {}, exact_equivalence());
  EXPECT_EQ(score.rewards, (std::vector<double>{-1, -1, -1, 1.0 / 6, 1.0 / 6, -0.5}));

  // Token-level rewards do not read answers: the rule does not apply to them.
  RewardSettings entropy = free_form(RewardType::token_entropy);
  entropy.copy_question_rouge = 0.8;
  auto token =
      score_group(entropy, seeds_question(), completions, {1, 2, 3, 4, 5, 6}, exact_equivalence());
  EXPECT_EQ(token.rewards, (std::vector<double>{-1, -2, -3, -4, -5, -6}));
  EXPECT_TRUE(token.copies_question.empty());
}

TEST(FreeFormRewards, SmallMajoritiesEarnNothing) {
  // Ten samples: the largest cluster holds 2 (20%), one is empty.
  const std::vector<std::string> spread = {"a", "a", "b", "c", "d", "e", "f", "g", "h", ""};
  RewardSettings settings = free_form();
  settings.min_majority_share = 0.2;
  auto at_share = score_group(settings, seeds_question(), spread, {}, exact_equivalence());
  EXPECT_TRUE(at_share.majority_share_checked);
  EXPECT_FALSE(at_share.below_majority_share);  // 2/10 is not below 0.2
  EXPECT_EQ(at_share.rewards[0], 0.2);
  EXPECT_EQ(at_share.rewards[9], -0.5);

  settings.min_majority_share = 0.25;  // the verl version's math setting
  auto below = score_group(settings, seeds_question(), spread, {}, exact_equivalence());
  EXPECT_TRUE(below.below_majority_share);
  EXPECT_EQ(below.rewards, std::vector<double>(10, 0.0));  // the empty sample too
  auto ttrl = settings;
  ttrl.type = RewardType::ttrl;
  EXPECT_EQ(score_group(ttrl, seeds_question(), spread, {}, exact_equivalence()).rewards,
            std::vector<double>(10, 0.0));

  // All answers empty: no majority at all.
  auto empty = score_group(settings, seeds_question(), {"", " "}, {}, exact_equivalence());
  EXPECT_TRUE(empty.below_majority_share);
  EXPECT_EQ(empty.rewards, (std::vector<double>{0, 0}));

  settings.min_majority_share = 0;  // off
  auto off = score_group(settings, seeds_question(), spread, {}, exact_equivalence());
  EXPECT_FALSE(off.majority_share_checked);
  EXPECT_EQ(off.rewards[0], 0.2);
}

TEST(FreeFormRewards, SettingsComeFromTheConfig) {
  TrainConfig config;
  config.reward = RewardType::ttrl;
  config.empty_answer_reward = -0.5;
  config.answer_extraction = AnswerExtraction::full;
  config.copy_question_rouge = 0.8;
  config.copy_question_reward = -0.1;
  config.min_majority_share = 0.2;
  RewardSettings settings = reward_settings(config);
  EXPECT_EQ(settings.type, RewardType::ttrl);
  EXPECT_EQ(settings.empty_answer_reward, -0.5);
  EXPECT_EQ(settings.answer.format, reward::AnswerFormat::full);
  EXPECT_EQ(settings.copy_question_rouge, 0.8);
  EXPECT_EQ(settings.copy_question_reward, -0.1);
  EXPECT_EQ(settings.min_majority_share, 0.2);
}

TEST(Rewards, ScoreGroupsClustersTheWholeBatchTogether) {
  // An exact-match "judge": prompts "question|a|b", yes when a == b case-insensitively.
  long calls = 0;
  reward::YesNoBatchScorer scorer = [&calls](const std::vector<std::string>& prompts) {
    ++calls;
    std::vector<reward::YesNoLogProbs> scores;
    for (const auto& prompt : prompts) {
      const size_t first = prompt.find('|'), second = prompt.find('|', first + 1);
      std::string a = prompt.substr(first + 1, second - first - 1), b = prompt.substr(second + 1);
      for (auto* text : {&a, &b})
        for (char& c : *text) c = static_cast<char>(std::tolower(c));
      scores.push_back(a == b ? reward::YesNoLogProbs{-0.1, -2.0}
                              : reward::YesNoLogProbs{-2, -0.1});
    }
    return scores;
  };
  reward::JudgeConfig judge_config;
  judge_config.prompt_template = "{question}|{a}|{b}";
  AnswerEquivalence equivalence = exact_equivalence();
  equivalence.cluster = [&](const std::string& q, const std::vector<std::string>& answers) {
    return reward::cluster_with_judge(q, answers, scorer, judge_config);
  };
  const std::vector<std::vector<std::string>> completions = {
      {"#Paris$", "#paris$", "#Lyon$", "#Nice$"},
      {"#A$", "#b$", "#a$", "#B$"},
      {"#x$", "#x$", "", "#X$"}};
  std::vector<data::Question> questions;
  for (int q = 0; q < 3; ++q) questions.push_back(question());
  auto one_by_one =
      score_groups(settings(RewardType::empo), questions, completions, {}, equivalence);
  EXPECT_EQ(calls, 3 + 2 + 1);  // rounds with comparisons per question, summed
  equivalence.cluster_many = [&](const std::vector<reward::JudgeClusteringInput>& inputs) {
    return reward::cluster_many_with_judge(inputs, scorer, judge_config);
  };
  calls = 0;
  auto together = score_groups(settings(RewardType::empo), questions, completions, {}, equivalence);
  EXPECT_EQ(calls, 3);  // the largest number of rounds
  ASSERT_EQ(together.size(), 3u);
  for (size_t q = 0; q < 3; ++q) {
    EXPECT_EQ(together[q].rewards, one_by_one[q].rewards) << q;
    EXPECT_EQ(together[q].clustering.cluster_ids, one_by_one[q].clustering.cluster_ids) << q;
  }
  EXPECT_EQ(together[0].rewards, (std::vector<double>{0.5, 0.5, 0.25, 0.25}));
  EXPECT_EQ(together[2].rewards, (std::vector<double>{0.75, 0.75, -0.5, 0.75}));
}

}  // namespace empo::rl
