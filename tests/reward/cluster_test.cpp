#include "empo/reward/cluster.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>
#include <set>

namespace empo::reward {

namespace {

// The partition as sets of answer texts (with multiplicity via the index into `answers`
// replaced by the text), independent of how clusters are numbered.
std::multiset<std::multiset<std::string>> partition(const std::vector<std::string>& answers,
                                                    const Clustering& clustering) {
  std::vector<std::multiset<std::string>> groups(clustering.cluster_sizes.size());
  for (size_t i = 0; i < answers.size(); ++i) {
    groups.at(clustering.cluster_ids.at(i)).insert(answers[i]);
  }
  return {groups.begin(), groups.end()};
}

void expect_consistent(const Clustering& clustering, size_t answers) {
  ASSERT_EQ(clustering.cluster_ids.size(), answers);
  ASSERT_EQ(clustering.probabilities.size(), clustering.cluster_sizes.size());
  int total = 0;
  for (size_t c = 0; c < clustering.cluster_sizes.size(); ++c) {
    total += clustering.cluster_sizes[c];
    EXPECT_DOUBLE_EQ(clustering.probabilities[c],
                     clustering.cluster_sizes[c] / static_cast<double>(answers));
  }
  EXPECT_EQ(total, static_cast<int>(answers));
  // Ids are numbered by first occurrence.
  int next = 0;
  for (int id : clustering.cluster_ids) {
    ASSERT_LE(id, next);
    if (id == next) ++next;
  }
}

}  // namespace

TEST(Cluster, GroupsEquivalentForms) {
  std::vector<std::string> answers = {"\\frac12", "0.5", "3", "1/2", "\\dfrac{1}{2}", "x=3", ""};
  Clustering clustering = cluster(answers);
  expect_consistent(clustering, answers.size());
  EXPECT_EQ(clustering.cluster_ids, (std::vector<int>{0, 0, 1, 0, 0, 1, 2}));
  EXPECT_EQ(clustering.cluster_sizes, (std::vector<int>{4, 2, 1}));
  double expected =
      -(4.0 / 7 * std::log(4.0 / 7) + 2.0 / 7 * std::log(2.0 / 7) + 1.0 / 7 * std::log(1.0 / 7));
  EXPECT_NEAR(clustering.entropy, expected, 1e-12);
}

// Found by fuzz/equivalence_fuzz: \Pi (a variable) shared pi's canonical key, so the answers
// were grouped without a comparison.
TEST(Cluster, VariablePiIsNotGroupedWithPi) {
  Clustering clustering = cluster({"\\frac{\\Pi}{2}", "\\frac{\\pi}{2}", "\\sin^{-1} 1"});
  EXPECT_EQ(clustering.cluster_ids, (std::vector<int>{0, 1, 1}));
}

TEST(Cluster, EmptyAnswersAreSingletons) {
  Clustering clustering = cluster({"", " ", "5", "", "5"});
  EXPECT_EQ(clustering.cluster_ids, (std::vector<int>{0, 1, 2, 3, 2}));
  EXPECT_EQ(clustering.cluster_sizes, (std::vector<int>{1, 1, 2, 1}));
}

TEST(Cluster, AnswersPastABoundAreSingletons) {
  Clustering clustering = cluster({"10^{10^{10^{10}}}", "10^{10^{10^{10}}}", "1"});
  EXPECT_EQ(clustering.cluster_ids, (std::vector<int>{0, 1, 2}));
  EXPECT_GE(clustering.bound_exceeded, 1);
}

TEST(Cluster, EntropyExtremes) {
  Clustering same = cluster({"2", "2.0", "\\frac{4}{2}", "\\sqrt{4}"});
  EXPECT_EQ(same.cluster_sizes, (std::vector<int>{4}));
  EXPECT_DOUBLE_EQ(same.entropy, 0.0);
  Clustering distinct = cluster({"1", "2", "3", "4", "5"});
  EXPECT_EQ(distinct.cluster_sizes.size(), 5u);
  EXPECT_NEAR(distinct.entropy, std::log(5.0), 1e-12);
  EXPECT_EQ(distinct.comparisons, 10);  // G(G-1)/2 at worst
  Clustering none = cluster({});
  EXPECT_TRUE(none.cluster_ids.empty());
  EXPECT_DOUBLE_EQ(none.entropy, 0.0);
  EXPECT_DOUBLE_EQ(semantic_entropy({1, 1}), std::log(2.0));
  EXPECT_DOUBLE_EQ(semantic_entropy({}), 0.0);
}

TEST(Cluster, TransitiveClosure) {
  // 1 ~ 1.0000006 ~ 1.0000012 within 1e-6 relative, but 1 and 1.0000012 are not: one
  // cluster, whatever the order.
  std::vector<std::string> answers = {"1.0000012", "1", "1.0000006"};
  EXPECT_FALSE(equivalent("1", "1.0000012"));
  do {
    Clustering clustering = cluster(answers);
    EXPECT_EQ(clustering.cluster_sizes, (std::vector<int>{3}));
  } while (std::next_permutation(answers.begin(), answers.end()));
}

TEST(Cluster, PartitionIsInvariantUnderPermutation) {
  std::vector<std::string> answers = {"\\frac{1}{2}",
                                      "0.5",
                                      "2x+x",
                                      "3x",
                                      "(1,2)",
                                      "(2,1)",
                                      "\\{2,1\\}",
                                      "1,2",
                                      "\\text{east}",
                                      "East",
                                      "",
                                      "0.33",
                                      "\\frac13",
                                      "0.3333333",
                                      "\\sqrt{8}",
                                      "2\\sqrt{2}",
                                      "x=3",
                                      "3",
                                      "",
                                      "(C)",
                                      "\\text{(C)}",
                                      "[1,2)",
                                      "1 \\le x < 2",
                                      "x+1",
                                      "\\frac{x^2-1}{x-1}"};
  Clustering reference = cluster(answers);
  expect_consistent(reference, answers.size());
  auto expected = partition(answers, reference);
  std::mt19937 generator(7);
  std::vector<std::string> shuffled = answers;
  for (int round = 0; round < 20; ++round) {
    std::shuffle(shuffled.begin(), shuffled.end(), generator);
    Clustering clustering = cluster(shuffled);
    expect_consistent(clustering, shuffled.size());
    EXPECT_EQ(partition(shuffled, clustering), expected) << "round " << round;
    EXPECT_DOUBLE_EQ(clustering.entropy, reference.entropy);
  }
  // Spot checks of the reference partition.
  auto same_cluster = [&](size_t a, size_t b) {
    return reference.cluster_ids[a] == reference.cluster_ids[b];
  };
  EXPECT_TRUE(same_cluster(0, 1));     // 1/2 ~ 0.5
  EXPECT_TRUE(same_cluster(2, 3));     // 2x+x ~ 3x
  EXPECT_FALSE(same_cluster(4, 5));    // ordered pairs
  EXPECT_TRUE(same_cluster(6, 7));     // sets
  EXPECT_TRUE(same_cluster(8, 9));     // text, case-folded
  EXPECT_FALSE(same_cluster(10, 18));  // empty answers
  EXPECT_FALSE(same_cluster(11, 12));  // 0.33 vs 1/3
  EXPECT_TRUE(same_cluster(12, 13));   // 0.3333333 ~ 1/3
  EXPECT_TRUE(same_cluster(14, 15));   // sqrt(8) ~ 2 sqrt(2)
  EXPECT_TRUE(same_cluster(16, 17));   // x=3 ~ 3
  EXPECT_TRUE(same_cluster(19, 20));   // choices
  EXPECT_TRUE(same_cluster(21, 22));   // interval written as an inequality
  EXPECT_TRUE(same_cluster(23, 24));
}

// A labelled answer "y = 1 - x" equals both "1 - x" (its right side) and "x + y - 1 = 0" (its
// equation), which differ from each other: the transitive closure joins all three in every
// order, because the labelled form is a node of its own (not merged into "1 - x" by key).
TEST(Cluster, LabelledAnswersJoinTheSameWayInEveryOrder) {
  std::vector<std::string> answers = {"y = 1 - x", "x + y - 1 = 0", "1 - x",
                                      "y = 1 + x", "2x + 2y = 2",   "1-x"};
  std::sort(answers.begin(), answers.end());
  std::multiset<std::multiset<std::string>> expected;
  int permutations = 0;
  do {
    Clustering clustering = cluster(answers);
    auto got = partition(answers, clustering);
    if (permutations++ == 0) expected = got;
    ASSERT_EQ(got, expected) << "permutation " << permutations;
  } while (std::next_permutation(answers.begin(), answers.end()));
  EXPECT_EQ(permutations, 720);
  // {y = 1 - x, x + y - 1 = 0, 2x + 2y = 2, 1 - x, 1-x} and {y = 1 + x}.
  EXPECT_EQ(expected.size(), 2u);
  EXPECT_TRUE(expected.count({"y = 1 + x"}));
}

TEST(ClusterWith, UsesThePredicateOnDistinctSortedAnswers) {
  std::vector<std::pair<std::string, std::string>> calls;
  auto same_ignoring_case = [&](const std::string& a, const std::string& b) {
    calls.emplace_back(a, b);
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(a[i])) !=
          std::tolower(static_cast<unsigned char>(b[i]))) {
        return false;
      }
    }
    return true;
  };
  std::vector<std::string> answers = {"Paris", " paris", "Lyon", "", "PARIS", "Paris", ""};
  Clustering clustering = cluster_with(answers, same_ignoring_case);
  EXPECT_EQ(clustering.cluster_ids, (std::vector<int>{0, 0, 1, 2, 0, 0, 3}));
  EXPECT_EQ(clustering.cluster_sizes, (std::vector<int>{4, 1, 1, 1}));
  for (const auto& [a, b] : calls) {
    EXPECT_LT(a, b);  // canonical order, distinct strings, never empty
    EXPECT_FALSE(a.empty());
  }
  // Distinct non-empty answers: Lyon, PARIS, Paris, paris -> at most 6 pairs.
  EXPECT_LE(calls.size(), 6u);
  EXPECT_EQ(clustering.comparisons, static_cast<long>(calls.size()));
}

TEST(ClusterWith, OneWayPredicateGivesAnOrderIndependentPartition) {
  // An asymmetric predicate: b "accepts" a when a is a prefix of b.
  auto prefix = [](const std::string& a, const std::string& b) { return b.rfind(a, 0) == 0; };
  std::vector<std::string> answers = {"ab", "abc", "b", "a", "bc"};
  auto expected = partition(answers, cluster_with(answers, prefix));
  std::sort(answers.begin(), answers.end());
  do {
    EXPECT_EQ(partition(answers, cluster_with(answers, prefix)), expected);
  } while (std::next_permutation(answers.begin(), answers.end()));
}

}  // namespace empo::reward
