#include "empo/eval/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "empo/io/error.h"

namespace empo::eval {
namespace {

const double kLn2 = std::log(2.0);

SampleRecord sample(std::size_t question, std::size_t index, const std::string& answer, int cluster,
                    bool correct) {
  return {question, index, answer, cluster, correct};
}

SampleRecord greedy(std::size_t question, bool correct) {
  return {question, 0, correct ? "right" : "wrong", 0, correct};
}

// Benchmark "alpha": 3 questions, k = 4, samples deliberately out of order.
//   q0: greedy right; answers 5 5 6 "" in clusters 0 0 1 2, the 5s right
//       -> avg 2/4, majority cluster 0 (size 2) right, H = 1.5 ln 2
//   q1: greedy wrong; clusters 3 1 3 1, cluster 1 right -> avg 2/4, tie 2-2 goes to the
//       lowest id (1) -> majority right, H = ln 2
//   q2: greedy wrong; four wrong 9s -> avg 0, majority wrong, H = 0
// greedy pass@1 = 1/3, avg@4 = 1/3, maj@4 = 2/3.
BenchmarkRecords alpha() {
  BenchmarkRecords records;
  records.name = "alpha";
  records.num_questions = 3;
  records.greedy = {greedy(2, false), greedy(0, true), greedy(1, false)};
  records.samples = {
      sample(1, 3, "8", 1, true),  sample(0, 0, "5", 0, true),  sample(0, 1, "5", 0, true),
      sample(0, 2, "6", 1, false), sample(0, 3, "", 2, false),  sample(1, 0, "7", 3, false),
      sample(1, 1, "8", 1, true),  sample(1, 2, "7", 3, false), sample(2, 0, "9", 0, false),
      sample(2, 1, "9", 0, false), sample(2, 2, "9", 0, false), sample(2, 3, "9", 0, false),
  };
  return records;
}

// Benchmark "beta": 2 questions, k = 4.
//   q0: greedy right; all four right in one cluster -> avg 1, majority right, H = 0
//   q1: greedy right; three wrong "1"s and one right "2" -> avg 1/4, majority wrong
//       (confident but wrong), H = -(3/4 ln 3/4 + 1/4 ln 1/4)
// greedy pass@1 = 1, avg@4 = 5/8, maj@4 = 1/2.
BenchmarkRecords beta() {
  BenchmarkRecords records;
  records.name = "beta";
  records.num_questions = 2;
  records.greedy = {greedy(0, true), greedy(1, true)};
  for (std::size_t i = 0; i < 4; ++i) records.samples.push_back(sample(0, i, "4", 7, true));
  for (std::size_t i = 0; i < 3; ++i) records.samples.push_back(sample(1, i, "1", 0, false));
  records.samples.push_back(sample(1, 3, "2", 1, true));
  return records;
}

TEST(Metrics, PerQuestionScores) {
  std::vector<QuestionScore> scores = score_questions(alpha());
  ASSERT_EQ(scores.size(), 3u);
  EXPECT_EQ(scores[0].greedy_correct, true);
  EXPECT_EQ(scores[1].greedy_correct, false);
  EXPECT_DOUBLE_EQ(scores[0].accuracy, 0.5);
  EXPECT_EQ(scores[0].majority_cluster, 0);
  EXPECT_EQ(scores[0].majority_answer, "5");
  EXPECT_EQ(scores[0].majority_size, 2u);
  EXPECT_EQ(scores[0].num_clusters, 3u);
  EXPECT_TRUE(scores[0].majority_correct);
  EXPECT_NEAR(scores[0].semantic_entropy, 1.5 * kLn2, 1e-12);

  EXPECT_EQ(scores[1].majority_cluster, 1);  // tie 2-2 between clusters 1 and 3
  EXPECT_EQ(scores[1].majority_answer, "8");
  EXPECT_TRUE(scores[1].majority_correct);
  EXPECT_NEAR(scores[1].semantic_entropy, kLn2, 1e-12);

  EXPECT_FALSE(scores[2].majority_correct);
  EXPECT_DOUBLE_EQ(scores[2].accuracy, 0.0);
  EXPECT_DOUBLE_EQ(scores[2].semantic_entropy, 0.0);
  EXPECT_EQ(scores[2].num_samples, 4u);
}

TEST(Metrics, BenchmarkScores) {
  BenchmarkScores a = score_benchmark(alpha());
  EXPECT_EQ(a.scores.num_questions, 3u);
  EXPECT_EQ(a.scores.k, 4u);
  EXPECT_NEAR(*a.scores.greedy_pass1, 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(*a.scores.avg_at_k, 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(*a.scores.maj_at_k, 2.0 / 3.0, 1e-12);
  // H = (1.5, 1, 0) ln 2 against majority right = (1, 1, 0): r = 5 / (2 sqrt 7).
  EXPECT_NEAR(*a.scores.entropy_majority_correlation, 5.0 / (2.0 * std::sqrt(7.0)), 1e-12);

  BenchmarkScores b = score_benchmark(beta());
  EXPECT_DOUBLE_EQ(*b.scores.greedy_pass1, 1.0);
  EXPECT_DOUBLE_EQ(*b.scores.avg_at_k, 0.625);
  EXPECT_DOUBLE_EQ(*b.scores.maj_at_k, 0.5);
  // Two points: higher entropy on the wrong majority -> r = -1.
  EXPECT_NEAR(*b.scores.entropy_majority_correlation, -1.0, 1e-12);
}

TEST(Metrics, OverallMicroAndMacro) {
  EvalSummary summary = summarize({alpha(), beta()});
  ASSERT_EQ(summary.benchmarks.size(), 2u);
  // Micro: 5 questions pooled.
  EXPECT_EQ(summary.micro.num_questions, 5u);
  EXPECT_EQ(summary.micro.k, 4u);
  EXPECT_DOUBLE_EQ(*summary.micro.greedy_pass1, 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(*summary.micro.avg_at_k, 2.25 / 5.0);
  EXPECT_DOUBLE_EQ(*summary.micro.maj_at_k, 3.0 / 5.0);
  EXPECT_TRUE(summary.micro.entropy_majority_correlation.has_value());
  // Macro: the mean of the two benchmarks.
  EXPECT_NEAR(*summary.macro.greedy_pass1, (1.0 / 3.0 + 1.0) / 2.0, 1e-12);
  EXPECT_NEAR(*summary.macro.avg_at_k, (1.0 / 3.0 + 0.625) / 2.0, 1e-12);
  EXPECT_NEAR(*summary.macro.maj_at_k, (2.0 / 3.0 + 0.5) / 2.0, 1e-12);
  EXPECT_FALSE(summary.macro.entropy_majority_correlation.has_value());
}

TEST(Metrics, MajorityIsIndependentOfSampleOrderAndUsesTheRepresentative) {
  // Clusters 5 and 2 tie at 2 samples: cluster 2 wins. Its lowest-index sample (1) is right,
  // its other one is not (an imperfect grader): the representative decides.
  BenchmarkRecords records{"mixed", 1, {}, {}};
  records.samples = {sample(0, 3, "x", 5, true), sample(0, 2, "b", 2, false),
                     sample(0, 0, "x", 5, false), sample(0, 1, "a", 2, true)};
  QuestionScore score = score_questions(records)[0];
  EXPECT_EQ(score.majority_cluster, 2);
  EXPECT_EQ(score.majority_answer, "a");
  EXPECT_TRUE(score.majority_correct);
  std::reverse(records.samples.begin(), records.samples.end());
  QuestionScore reversed = score_questions(records)[0];
  EXPECT_EQ(reversed.majority_cluster, 2);
  EXPECT_EQ(reversed.majority_answer, "a");
}

TEST(Metrics, MissingEvaluationsAreUnset) {
  BenchmarkRecords greedy_only{"g", 2, {greedy(0, true), greedy(1, false)}, {}};
  BenchmarkScores scores = score_benchmark(greedy_only);
  EXPECT_DOUBLE_EQ(*scores.scores.greedy_pass1, 0.5);
  EXPECT_FALSE(scores.scores.avg_at_k.has_value());
  EXPECT_FALSE(scores.scores.maj_at_k.has_value());
  EXPECT_EQ(scores.scores.k, 0u);

  BenchmarkRecords sampled_only = alpha();
  sampled_only.name = "s";
  sampled_only.greedy.clear();
  EvalSummary summary = summarize({greedy_only, sampled_only});
  // An overall metric needs every benchmark to have it.
  EXPECT_FALSE(summary.micro.greedy_pass1.has_value());
  EXPECT_FALSE(summary.micro.maj_at_k.has_value());
  EXPECT_FALSE(summary.macro.avg_at_k.has_value());
}

TEST(Metrics, BadRecordsAreInputErrors) {
  auto expect_error = [](BenchmarkRecords records, const std::string& fragment) {
    try {
      score_questions(records);
      ADD_FAILURE() << "accepted: " << fragment;
    } catch (const InputError& error) {
      EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
    }
  };
  BenchmarkRecords records = alpha();
  records.samples.push_back(sample(3, 0, "1", 0, true));
  expect_error(records, "question 3 but the benchmark has 3 questions");
  records = alpha();
  records.samples.pop_back();
  expect_error(records, "question 2 has 3 samples, question 0 has 4");
  records = alpha();
  records.samples[0].sample = 0;  // question 1 now has sample 0 twice and no 3
  expect_error(records, "question 1: sample indices must be 0..3 once each");
  records = alpha();
  records.greedy.push_back(greedy(1, true));
  expect_error(records, "two greedy records for question 1");
  records = alpha();
  records.greedy.pop_back();
  expect_error(records, "no greedy record for question 1");
  records = alpha();
  records.greedy[0].question = 9;
  expect_error(records, "greedy record for question 9");
  EXPECT_THROW(summarize({alpha(), alpha()}), InputError);  // names must be unique
}

TEST(Metrics, Pearson) {
  EXPECT_NEAR(*pearson({1, 2, 3}, {2, 4, 6}), 1.0, 1e-12);
  EXPECT_NEAR(*pearson({1, 2, 3}, {6, 4, 2}), -1.0, 1e-12);
  // Hand-computed: x = (1, 2, 3, 4), y = (1, 0, 1, 1): cov 0.5, var 5 and 0.75 (sums).
  EXPECT_NEAR(*pearson({1, 2, 3, 4}, {1, 0, 1, 1}), 0.5 / std::sqrt(5.0 * 0.75), 1e-12);
  EXPECT_FALSE(pearson({1, 1, 1}, {0, 1, 0}).has_value());
  EXPECT_FALSE(pearson({1}, {1}).has_value());
  EXPECT_FALSE(pearson({1, 2}, {1, 2, 3}).has_value());
}

TEST(Metrics, SummaryTable) {
  std::string table = format_summary_table(summarize({alpha(), beta()}));
  EXPECT_EQ(table,
            "benchmark        questions  k  greedy pass@1  avg@k  maj@k  r(H, maj ok)\n"
            "alpha                    3  4           33.3   33.3   66.7        +0.945\n"
            "beta                     2  4          100.0   62.5   50.0        -1.000\n"
            "overall (micro)          5  4           60.0   45.0   60.0        +0.358\n"
            "overall (macro)          5  4           66.7   47.9   58.3             -\n")
      << table;
  std::string single = format_summary_table(summarize({beta()}));
  EXPECT_EQ(single.find("overall"), std::string::npos);  // one benchmark: no overall rows
}

TEST(Metrics, Json) {
  io::Json json = to_json(summarize({alpha(), BenchmarkRecords{"g", 1, {greedy(0, true)}, {}}}));
  EXPECT_NEAR(json["benchmarks"]["alpha"]["maj_at_k"].get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_EQ(json["benchmarks"]["alpha"]["k"], 4);
  EXPECT_TRUE(json["benchmarks"]["g"]["maj_at_k"].is_null());
  EXPECT_DOUBLE_EQ(json["overall_micro"]["greedy_pass1"].get<double>(), 0.5);
  EXPECT_EQ(json["overall_micro"]["num_questions"], 4);
  EXPECT_TRUE(json["overall_macro"]["avg_at_k"].is_null());
}

}  // namespace
}  // namespace empo::eval
