#include "empo/rl/rewards.h"

#include <cmath>
#include <map>

#include "empo/io/error.h"
#include "empo/reward/equivalence.h"
#include "empo/reward/rouge.h"

namespace empo::rl {

AnswerEquivalence math_equivalence(const reward::EquivalenceConfig& config) {
  return {[config](const std::string&, const std::vector<std::string>& answers) {
            return reward::cluster(answers, config);
          },
          [config](const std::string&, const std::string& answer, const std::string& golden) {
            return reward::equivalent(answer, golden, config);
          },
          nullptr};
}

AnswerEquivalence exact_equivalence() {
  auto same = [](const std::string& a, const std::string& b) { return !a.empty() && a == b; };
  return {[same](const std::string&, const std::vector<std::string>& answers) {
            return reward::cluster_with(answers, same);
          },
          [same](const std::string&, const std::string& answer, const std::string& golden) {
            return same(answer, golden);
          },
          nullptr};
}

AnswerEquivalence judge_equivalence(std::shared_ptr<reward::Judge> judge) {
  return {
      [judge](const std::string& question, const std::vector<std::string>& answers) {
        return reward::cluster_with(answers, judge->predicate(question));
      },
      [judge](const std::string& question, const std::string& answer, const std::string& golden) {
        return !answer.empty() && judge->accepts(question, golden, answer);
      },
      nullptr};
}

RewardSettings reward_settings(const TrainConfig& config) {
  RewardSettings settings;
  settings.type = config.reward;
  settings.empty_answer_reward = config.empty_answer_reward;
  settings.answer = answer_config(config);
  settings.copy_question_rouge = config.copy_question_rouge;
  settings.copy_question_reward = config.copy_question_reward;
  settings.min_majority_share = config.min_majority_share;
  return settings;
}

reward::AnswerConfig answer_config(const TrainConfig& config) {
  reward::AnswerConfig answer;
  answer.format = reward::answer_format_from_name(to_string(config.answer_extraction));
  for (auto fallback : config.answer_fallbacks)
    answer.fallbacks.push_back(reward::answer_fallback_from_name(to_string(fallback)));
  return answer;
}

std::vector<std::string> golden_answers(const data::Question& question,
                                        const reward::AnswerConfig& answer_config) {
  std::vector<std::string> answers;
  for (const auto& answer : question.answers) {
    std::string comparable =
        question.answer_from_solution ? reward::extract_answer(answer, answer_config) : answer;
    if (!comparable.empty()) answers.push_back(comparable);
  }
  return answers;
}

int majority_cluster(const reward::Clustering& clustering,
                     const std::vector<std::string>& answers) {
  std::map<int, const std::string*> smallest;  // cluster -> its smallest answer
  for (size_t i = 0; i < answers.size(); ++i) {
    if (answers[i].empty()) continue;
    int id = clustering.cluster_ids[i];
    if (!smallest.count(id) || answers[i] < *smallest[id]) smallest[id] = &answers[i];
  }
  int best = -1;
  for (const auto& [id, answer] : smallest) {
    if (best < 0 || clustering.cluster_sizes[id] > clustering.cluster_sizes[best] ||
        (clustering.cluster_sizes[id] == clustering.cluster_sizes[best] &&
         *answer < *smallest[best]))
      best = id;
  }
  return best;
}

BandVerdict entropy_band_verdict(double normalized_entropy, const EntropyBand& band) {
  constexpr double kTolerance = 1e-9;  // H / log G of an all-distinct group is 1 up to rounding
  if (normalized_entropy < band.low - kTolerance) return BandVerdict::below;
  if (normalized_entropy > band.high + kTolerance) return BandVerdict::above;
  return BandVerdict::keep;
}

namespace {

bool matches_any(const AnswerEquivalence& equivalence, const std::string& question,
                 const std::string& answer, const std::vector<std::string>& goldens) {
  if (answer.empty()) return false;
  for (const auto& golden : goldens)
    if (equivalence.matches(question, answer, golden)) return true;
  return false;
}

// The rewards of one group whose answers are extracted and clustered.
void finish_score(GroupScore& score, const RewardSettings& settings, const data::Question& question,
                  const std::vector<double>& token_signal, const AnswerEquivalence& equivalence) {
  const size_t G = score.answers.size();
  score.normalized_entropy =
      G > 1 ? score.clustering.entropy / std::log(static_cast<double>(G)) : 0;
  score.majority_cluster = majority_cluster(score.clustering, score.answers);
  if (score.majority_cluster >= 0)
    score.majority_share =
        static_cast<double>(score.clustering.cluster_sizes[score.majority_cluster]) / G;

  auto goldens = golden_answers(question, settings.answer);
  if (!goldens.empty()) {
    for (size_t i = 0; i < G; ++i)
      score.correct.push_back(matches_any(equivalence, question.text, score.answers[i], goldens));
    if (score.majority_cluster >= 0)
      for (size_t i = 0; i < G; ++i)
        if (score.clustering.cluster_ids[i] == score.majority_cluster) {
          score.majority_correct = score.correct[i];
          break;
        }
  }
  if (settings.type == RewardType::supervised && goldens.empty())
    throw InputError(
        located(question.id, question.line,
                "the supervised reward needs a golden answer and this question has none"));

  const bool answer_based = settings.type == RewardType::empo ||
                            settings.type == RewardType::ttrl ||
                            settings.type == RewardType::supervised;
  if (answer_based && settings.copy_question_rouge > 0)
    for (const auto& answer : score.answers)
      score.copies_question.push_back(
          reward::copies_question(answer, question.text, settings.copy_question_rouge));
  if ((settings.type == RewardType::empo || settings.type == RewardType::ttrl) &&
      settings.min_majority_share > 0) {
    score.majority_share_checked = true;
    score.below_majority_share = score.majority_share < settings.min_majority_share;
  }

  for (size_t i = 0; i < G; ++i) {
    const bool empty = score.answers[i].empty();
    const int cluster = score.clustering.cluster_ids[i];
    double value = 0;
    switch (settings.type) {
      case RewardType::empo:
        value = empty ? settings.empty_answer_reward
                      : static_cast<double>(score.clustering.cluster_sizes[cluster]) / G;
        break;
      case RewardType::ttrl:
        value = empty                               ? settings.empty_answer_reward
                : cluster == score.majority_cluster ? 1.0
                                                    : 0.0;
        break;
      case RewardType::supervised:
        value = empty ? settings.empty_answer_reward : score.correct[i] ? 1.0 : 0.0;
        break;
      case RewardType::self_certainty:
        value = token_signal.at(i);
        break;
      case RewardType::token_entropy:
        value = -token_signal.at(i);
        break;
    }
    if (!score.copies_question.empty() && score.copies_question[i])
      value = settings.copy_question_reward;
    if (score.below_majority_share) value = 0;
    score.rewards.push_back(value);
  }
}

}  // namespace

std::vector<GroupScore> score_groups(const RewardSettings& settings,
                                     const std::vector<data::Question>& questions,
                                     const std::vector<std::vector<std::string>>& completions,
                                     const std::vector<std::vector<double>>& token_signals,
                                     const AnswerEquivalence& equivalence) {
  std::vector<GroupScore> scores(questions.size());
  for (size_t q = 0; q < questions.size(); ++q)
    for (const auto& completion : completions.at(q))
      scores[q].answers.push_back(reward::extract_answer(completion, settings.answer));
  if (equivalence.cluster_many) {
    std::vector<reward::JudgeClusteringInput> inputs;
    for (size_t q = 0; q < questions.size(); ++q)
      inputs.push_back({questions[q].text, scores[q].answers});
    auto clusterings = equivalence.cluster_many(inputs);
    for (size_t q = 0; q < questions.size(); ++q)
      scores[q].clustering = std::move(clusterings.at(q));
  } else {
    for (size_t q = 0; q < questions.size(); ++q)
      scores[q].clustering = equivalence.cluster(questions[q].text, scores[q].answers);
  }
  static const std::vector<double> kNoSignal;
  for (size_t q = 0; q < questions.size(); ++q)
    finish_score(scores[q], settings, questions[q],
                 q < token_signals.size() ? token_signals[q] : kNoSignal, equivalence);
  return scores;
}

GroupScore score_group(const RewardSettings& settings, const data::Question& question,
                       const std::vector<std::string>& completions,
                       const std::vector<double>& token_signal,
                       const AnswerEquivalence& equivalence) {
  return std::move(
      score_groups(settings, {question}, {completions}, {token_signal}, equivalence).front());
}

}  // namespace empo::rl
