#include "empo/reward/judge_clustering.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <sstream>

#include "empo/io/error.h"

namespace empo::reward {
namespace {

// A stand-in for the judge model: prompts are "question|a|b", and b is accepted for a when the
// table says `b` entails `a` (meaning[b] covers meaning[a]). It records every prompt.
class EntailmentTable {
 public:
  explicit EntailmentTable(std::map<std::string, std::string> meaning)
      : meaning_(std::move(meaning)) {}

  YesNoBatchScorer scorer() {
    return [this](const std::vector<std::string>& prompts) {
      ++batches;
      std::vector<YesNoLogProbs> scores;
      for (const auto& prompt : prompts) {
        sent.push_back(prompt);
        std::vector<std::string> parts;
        std::stringstream in(prompt);
        for (std::string part; std::getline(in, part, '|');) parts.push_back(part);
        const std::string& a = meaning_.at(parts.at(1));
        const std::string& b = meaning_.at(parts.at(2));
        const bool yes = b.find(a) != std::string::npos;  // b says at least what a says
        scores.push_back(yes ? YesNoLogProbs{std::log(0.9), std::log(0.1)}
                             : YesNoLogProbs{std::log(0.2), std::log(0.8)});
      }
      return scores;
    };
  }

  int batches = 0;
  std::vector<std::string> sent;

 private:
  std::map<std::string, std::string> meaning_;
};

JudgeConfig config(JudgeMode mode) {
  JudgeConfig result;
  result.mode = mode;
  result.prompt_template = "{question}|{a}|{b}";
  return result;
}

const std::map<std::string, std::string> kMeanings = {
    {"Paris", "paris"},         {"paris", "paris"},
    {"It is Paris", "paris"},   {"Paris, France", "paris"},
    {"Lyon", "lyon"},           {"The city of Lyon", "lyon"},
    {"Marseille", "marseille"}, {"Paris or Lyon", "paris lyon"}};

std::vector<int> partition_signature(const Clustering& clustering) {
  return clustering.cluster_ids;  // numbered by first occurrence, so comparable
}

}  // namespace

TEST(JudgeClustering, OneBatchPerClusterAndAgreedAnswersAreNotComparedAgain) {
  EntailmentTable table(kMeanings);
  JudgeClusteringStats stats;
  const std::vector<std::string> answers = {"Paris",         "paris", "It is Paris",
                                            "Paris, France", "Paris", ""};
  auto clustering =
      cluster_with_judge("Capital?", answers, table.scorer(), config(JudgeMode::one_way), &stats);
  EXPECT_EQ(clustering.cluster_ids, (std::vector<int>{0, 0, 0, 0, 0, 1}));  // "" is its own
  EXPECT_EQ(clustering.cluster_sizes, (std::vector<int>{5, 1}));
  // Four distinct answers, one cluster: one batch of three prompts, not the six pairs (or
  // twelve ordered pairs) of all-pairs comparison.
  EXPECT_EQ(stats.batches, 1);
  EXPECT_EQ(stats.prompts, 3);
  EXPECT_EQ(clustering.comparisons, 3);
  // The founder is the smallest answer, as the reference {a}.
  EXPECT_EQ(table.sent.front(), "Capital?|It is Paris|Paris");
}

TEST(JudgeClustering, PartitionDoesNotDependOnSampleOrder) {
  std::vector<std::string> answers = {"Paris", "Lyon",          "The city of Lyon", "Marseille",
                                      "paris", "Paris, France", "It is Paris",      "Lyon"};
  EntailmentTable reference_table(kMeanings);
  auto reference =
      cluster_with_judge("Q", answers, reference_table.scorer(), config(JudgeMode::bidirectional));
  EXPECT_EQ(reference.cluster_sizes, (std::vector<int>{4, 3, 1}));
  std::mt19937 shuffle_engine(7);
  for (int trial = 0; trial < 10; ++trial) {
    std::vector<size_t> order(answers.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), shuffle_engine);
    std::vector<std::string> shuffled;
    for (size_t i : order) shuffled.push_back(answers[i]);
    EntailmentTable table(kMeanings);
    auto clustering =
        cluster_with_judge("Q", shuffled, table.scorer(), config(JudgeMode::bidirectional));
    // Same partition: answers i and j share a cluster in one order iff they do in the other.
    for (size_t x = 0; x < order.size(); ++x)
      for (size_t y = 0; y < order.size(); ++y)
        EXPECT_EQ(clustering.cluster_ids[x] == clustering.cluster_ids[y],
                  reference.cluster_ids[order[x]] == reference.cluster_ids[order[y]]);
    EXPECT_NEAR(clustering.entropy, reference.entropy, 1e-15);
  }
}

TEST(JudgeClustering, DirectionDecidesAsymmetricJudgements) {
  // "Paris or Lyon" says more than "Lyon": it entails it, but "Lyon" does not entail it.
  const std::vector<std::string> answers = {"Lyon", "Paris or Lyon"};
  EntailmentTable one_way_table(kMeanings);
  JudgeClusteringStats stats;
  auto one_way =
      cluster_with_judge("Q", answers, one_way_table.scorer(), config(JudgeMode::one_way), &stats);
  EXPECT_EQ(one_way.cluster_sizes, (std::vector<int>{2}));  // is "Paris or Lyon" ok for "Lyon"?
  EXPECT_EQ(stats.prompts, 1);
  EntailmentTable both_table(kMeanings);
  JudgeClusteringStats both_stats;
  auto both = cluster_with_judge("Q", answers, both_table.scorer(),
                                 config(JudgeMode::bidirectional), &both_stats);
  EXPECT_EQ(both.cluster_sizes, (std::vector<int>{1, 1}));
  EXPECT_EQ(both_stats.batches, 1);  // both directions in the same batch
  EXPECT_EQ(both_stats.prompts, 2);
}

TEST(JudgeClustering, AgreesWithPairwiseClusteringForASymmetricJudge) {
  // With an equivalence relation, founder-based clustering is the transitive closure.
  const std::vector<std::string> answers = {"Marseille",        "Lyon", "Paris", "It is Paris",
                                            "The city of Lyon", "paris"};
  EntailmentTable table(kMeanings);
  auto batched = cluster_with_judge("Q", answers, table.scorer(), config(JudgeMode::bidirectional));
  auto pairwise = cluster_with(answers, [](const std::string& a, const std::string& b) {
    return kMeanings.at(a) == kMeanings.at(b);
  });
  EXPECT_EQ(partition_signature(batched), partition_signature(pairwise));
  EXPECT_EQ(batched.cluster_sizes, pairwise.cluster_sizes);
}

TEST(JudgeClustering, ComparisonsAndAnswerLengthAreBounded) {
  std::map<std::string, std::string> meanings;
  std::vector<std::string> answers;
  for (int i = 0; i < 6; ++i) {
    answers.push_back("answer " + std::to_string(i));
    meanings[answers.back()] = "m" + std::to_string(i);  // all different
  }
  const std::string long_answer(40, 'x');
  answers.push_back(long_answer);
  meanings[long_answer] = "m0";
  EntailmentTable table(meanings);
  JudgeConfig bounded = config(JudgeMode::one_way);
  bounded.max_comparisons_per_question = 3;
  bounded.max_answer_bytes = 20;
  JudgeClusteringStats stats;
  auto clustering = cluster_with_judge("Q", answers, table.scorer(), bounded, &stats);
  EXPECT_EQ(clustering.comparisons, 3);  // the budget
  EXPECT_EQ(stats.prompts, 3);
  EXPECT_EQ(clustering.cluster_sizes.size(), 7u);  // nothing joined
  for (const auto& prompt : table.sent) EXPECT_EQ(prompt.find(long_answer), std::string::npos);
  // Refused: the long answer, then 5 + 4 + 3 + 2 + 1 pairs minus the 3 decided.
  EXPECT_EQ(clustering.bound_exceeded, 1 + 15 - 3);
  EXPECT_THROW(
      cluster_with_judge("Q", answers, table.scorer(), JudgeConfig{JudgeMode::one_way, "{a}{b}"}),
      InputError);
}

TEST(JudgeClustering, ABatchOfQuestionsCostsOneScorerCallPerRound) {
  // Eight questions whose answers form three clusters each (Paris, Lyon, Marseille). One by one
  // a question costs 2 or 3 calls (a round per founder that has candidates left; sorted answers
  // interleave the clusters), 20 in all; together the batch costs its longest question's 3:
  // the calls follow the rounds, not the questions.
  const std::vector<std::vector<std::string>> answer_sets = {
      {"Paris", "Lyon", "Marseille", "paris"},
      {"It is Paris", "The city of Lyon", "Marseille", "Lyon"},
      {"Marseille", "Paris, France", "Lyon", "Paris"},
      {"Lyon", "Marseille", "It is Paris", "It is Paris"}};
  std::vector<JudgeClusteringInput> inputs;
  for (int copy = 0; copy < 2; ++copy)
    for (size_t q = 0; q < answer_sets.size(); ++q)
      inputs.push_back({"Q" + std::to_string(copy) + std::to_string(q), answer_sets[q]});
  for (JudgeMode mode : {JudgeMode::one_way, JudgeMode::bidirectional}) {
    EntailmentTable together_table(kMeanings);
    JudgeClusteringStats together;
    auto batched =
        cluster_many_with_judge(inputs, together_table.scorer(), config(mode), &together);
    ASSERT_EQ(batched.size(), inputs.size());
    JudgeClusteringStats alone;
    long most_rounds = 0;
    for (size_t q = 0; q < inputs.size(); ++q) {
      EntailmentTable table(kMeanings);
      JudgeClusteringStats own;
      auto single = cluster_with_judge(inputs[q].question, inputs[q].answers, table.scorer(),
                                       config(mode), &own);
      most_rounds = std::max(most_rounds, own.batches);
      alone.batches += own.batches;
      alone.prompts += own.prompts;
      EXPECT_EQ(batched[q].cluster_ids, single.cluster_ids) << q;
      EXPECT_EQ(batched[q].cluster_sizes.size(), 3u) << q;
      EXPECT_EQ(batched[q].comparisons, single.comparisons) << q;
    }
    EXPECT_EQ(most_rounds, 3);
    EXPECT_EQ(together.batches, most_rounds);
    EXPECT_EQ(alone.batches, 20);
    EXPECT_EQ(alone.prompts, together.prompts);  // the same prompts, fewer calls
    // Another order of the questions gives every question the same clusters.
    std::vector<JudgeClusteringInput> reversed(inputs.rbegin(), inputs.rend());
    EntailmentTable reversed_table(kMeanings);
    auto reversed_result = cluster_many_with_judge(reversed, reversed_table.scorer(), config(mode));
    for (size_t q = 0; q < inputs.size(); ++q)
      EXPECT_EQ(reversed_result[inputs.size() - 1 - q].cluster_ids, batched[q].cluster_ids);
  }
}

TEST(JudgeClustering, RoundsAreBoundedByTheLargestNumberOfClusters) {
  // Question q has q + 1 all-different answers (q + 1 clusters, q rounds with comparisons):
  // the batch costs as many calls as its largest question, and a question's budget is its own.
  std::map<std::string, std::string> meanings;
  std::vector<JudgeClusteringInput> inputs;
  for (int q = 0; q < 6; ++q) {
    JudgeClusteringInput input{"Q" + std::to_string(q), {}};
    for (int i = 0; i <= q; ++i) {
      input.answers.push_back("answer " + std::to_string(i));
      meanings[input.answers.back()] = "m" + std::to_string(i);
    }
    inputs.push_back(input);
  }
  EntailmentTable table(meanings);
  JudgeClusteringStats stats;
  auto results =
      cluster_many_with_judge(inputs, table.scorer(), config(JudgeMode::one_way), &stats);
  EXPECT_EQ(stats.batches, 5);
  for (int q = 0; q < 6; ++q) {
    EXPECT_EQ(results[q].cluster_sizes.size(), static_cast<size_t>(q + 1));
    EXPECT_EQ(results[q].comparisons, q * (q + 1) / 2);
  }
  JudgeConfig bounded = config(JudgeMode::one_way);
  bounded.max_comparisons_per_question = 4;
  EntailmentTable bounded_table(meanings);
  JudgeClusteringStats bounded_stats;
  results = cluster_many_with_judge(inputs, bounded_table.scorer(), bounded, &bounded_stats);
  EXPECT_EQ(results[5].comparisons, 4);  // 5 candidates in the first round, cut to 4
  EXPECT_EQ(results[5].bound_exceeded, 15 - 4);
  EXPECT_EQ(results[2].comparisons, 3);  // within its budget
  EXPECT_LE(bounded_stats.batches, 5);
}

TEST(JudgePairs, JudgeRulesAndOneCall) {
  EntailmentTable table(kMeanings);
  JudgeClusteringStats stats;
  JudgeConfig bounded = config(JudgeMode::one_way);
  bounded.max_answer_bytes = 20;
  long refused = 0;
  const std::vector<JudgePair> pairs = {
      {"Q", "Lyon", "Paris or Lyon"},        // entails: yes
      {"Q", "Paris or Lyon", "Lyon"},        // does not
      {"Q", " Paris ", "Paris"},             // identical once trimmed: no call
      {"Q", "", "Paris"},                    // empty: never
      {"Q", "Paris", std::string(21, 'x')},  // too long: never sent
      {"Q", "paris", "It is Paris"}};
  auto accepted = judge_pairs(pairs, table.scorer(), bounded, &stats, &refused);
  EXPECT_EQ(accepted, (std::vector<bool>{true, false, true, false, false, true}));
  EXPECT_EQ(stats.batches, 1);
  EXPECT_EQ(stats.prompts, 3);
  EXPECT_EQ(refused, 1);
  bounded.mode = JudgeMode::bidirectional;
  EntailmentTable both_table(kMeanings);
  accepted = judge_pairs(pairs, both_table.scorer(), bounded);
  EXPECT_EQ(accepted, (std::vector<bool>{false, false, true, false, false, true}));
  EXPECT_EQ(both_table.batches, 1);
  EXPECT_EQ(both_table.sent.size(), 6u);
  EntailmentTable unused(kMeanings);  // nothing for the model: no call
  EXPECT_EQ(judge_pairs({{"Q", "a", "a"}}, unused.scorer(), bounded), std::vector<bool>{true});
  EXPECT_EQ(unused.batches, 0);
}

}  // namespace empo::reward
