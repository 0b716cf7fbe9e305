#pragma once
// Evaluation metrics from per-sample records: greedy pass@1, avg@k, maj@k, per benchmark and
// overall, and the paper's motivating statistic, the correlation between a question's
// semantic entropy and whether its majority answer is right.
//
// Independent of the reward module on purpose: clusters and correctness come in as data
// (reward::cluster and the grader produce them), so the arithmetic here is testable on
// hand-made records.
//
// Definitions (k = samples per question, the same for every question of a benchmark):
//   greedy pass@1  share of questions whose greedy completion is correct
//   avg@k          mean over questions of the share of its k samples that are correct
//   maj@k          share of questions whose majority answer is correct. The majority is the
//                  largest cluster; ties go to the lowest cluster id (deterministic, and
//                  independent of sample order). Its answer is correct when the cluster's
//                  representative, its lowest-index sample, is correct. Clusters are taken as
//                  given: callers put empty answers in singleton clusters (as reward::cluster
//                  does), so "no answer" only wins when every sample has none.
//   semantic entropy  H = -sum_c p_c log p_c (natural log) with p_c = |c| / k
// Overall: micro = every question of every benchmark weighs the same; macro = the mean of
// the benchmarks' values. An overall metric exists only when every benchmark has it.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "empo/io/jsonl.h"

namespace empo::eval {

struct SampleRecord {
  std::size_t question = 0;  // index of the question in its benchmark, 0..num_questions-1
  std::size_t sample = 0;    // index of the sample in its question, 0..k-1 (0 for greedy)
  std::string answer;        // extracted answer, "" when none
  int cluster = 0;           // semantic cluster id within the question (ignored for greedy)
  bool correct = false;
};

struct BenchmarkRecords {
  std::string name;
  std::size_t num_questions = 0;
  std::vector<SampleRecord> greedy;   // one per question, or empty: greedy not evaluated
  std::vector<SampleRecord> samples;  // k per question, or empty: sampling not evaluated
};

struct QuestionScore {
  std::size_t question = 0;
  std::optional<bool> greedy_correct;
  std::size_t num_samples = 0;  // k; 0 when sampling was not evaluated (fields below unset)
  double accuracy = 0.0;        // share of correct samples
  int majority_cluster = 0;
  std::string majority_answer;
  bool majority_correct = false;
  std::size_t num_clusters = 0;
  std::size_t majority_size = 0;
  double semantic_entropy = 0.0;
};

struct Scores {
  std::size_t num_questions = 0;
  std::size_t k = 0;  // samples per question; 0 when none or when benchmarks differ
  std::optional<double> greedy_pass1;
  std::optional<double> avg_at_k;
  std::optional<double> maj_at_k;
  // Pearson r between semantic entropy and majority correctness (point-biserial); unset when
  // either has no variance. Not defined for the macro row.
  std::optional<double> entropy_majority_correlation;
};

struct BenchmarkScores {
  std::string name;
  Scores scores;
  std::vector<QuestionScore> questions;
};

struct EvalSummary {
  std::vector<BenchmarkScores> benchmarks;
  Scores micro;
  Scores macro;
};

// Per-question scores; InputError naming the benchmark and question when records are
// missing, duplicated, out of range, or k differs between questions.
std::vector<QuestionScore> score_questions(const BenchmarkRecords& records);

BenchmarkScores score_benchmark(const BenchmarkRecords& records);

EvalSummary summarize(const std::vector<BenchmarkRecords>& benchmarks);

// Pearson correlation; unset for fewer than 2 points or a constant variable.
std::optional<double> pearson(const std::vector<double>& x, const std::vector<double>& y);

std::optional<double> entropy_majority_correlation(const std::vector<QuestionScore>& questions);

// A plain-text table, one row per benchmark plus "overall (micro)" and "overall (macro)";
// accuracies in percent with one decimal, "-" for a metric not evaluated.
std::string format_summary_table(const EvalSummary& summary);

// {"benchmarks": {name: scores...}, "overall_micro": ..., "overall_macro": ...}; accuracies
// as fractions in [0, 1], null when not evaluated.
io::Json to_json(const EvalSummary& summary);

}  // namespace empo::eval
