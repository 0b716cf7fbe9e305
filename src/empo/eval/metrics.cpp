#include "empo/eval/metrics.h"

#include "empo/reward/cluster.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "empo/io/error.h"

namespace empo::eval {
namespace {

[[noreturn]] void fail(const BenchmarkRecords& records, const std::string& what) {
  throw InputError("benchmark " + records.name + ": " + what);
}

std::string question_label(std::size_t question) {
  return "question " + std::to_string(question);
}

void check_question_index(const BenchmarkRecords& records, const SampleRecord& record,
                          const char* kind) {
  if (record.question >= records.num_questions)
    fail(records, std::string(kind) + " record for " + question_label(record.question) +
                      " but the benchmark has " + std::to_string(records.num_questions) +
                      " questions");
}

void score_greedy(const BenchmarkRecords& records, std::vector<QuestionScore>& scores) {
  if (records.greedy.empty()) return;
  for (const auto& record : records.greedy) {
    check_question_index(records, record, "greedy");
    auto& score = scores[record.question];
    if (score.greedy_correct)
      fail(records, "two greedy records for " + question_label(record.question));
    score.greedy_correct = record.correct;
  }
  for (const auto& score : scores)
    if (!score.greedy_correct)
      fail(records, "no greedy record for " + question_label(score.question));
}

struct Cluster {
  std::size_t size = 0;
  std::size_t representative = 0;  // lowest sample index in the cluster
  const SampleRecord* first = nullptr;
};

// One question's samples, already checked to be k records with sample indices 0..k-1.
void score_samples_of(const std::vector<const SampleRecord*>& samples, QuestionScore& score) {
  std::map<int, Cluster> clusters;  // ordered by id: ties resolve to the lowest id
  std::size_t correct = 0;
  for (const SampleRecord* sample : samples) {
    correct += sample->correct;
    Cluster& cluster = clusters[sample->cluster];
    if (cluster.size == 0 || sample->sample < cluster.representative) {
      cluster.representative = sample->sample;
      cluster.first = sample;
    }
    ++cluster.size;
  }
  score.num_samples = samples.size();
  score.accuracy = static_cast<double>(correct) / static_cast<double>(samples.size());
  score.num_clusters = clusters.size();
  std::vector<int> sizes;
  const Cluster* majority = nullptr;
  for (const auto& [id, cluster] : clusters) {
    sizes.push_back(static_cast<int>(cluster.size));
    if (!majority || cluster.size > majority->size) {
      majority = &cluster;
      score.majority_cluster = id;
    }
  }
  score.majority_size = majority->size;
  score.majority_answer = majority->first->answer;
  score.majority_correct = majority->first->correct;
  score.semantic_entropy = reward::semantic_entropy(sizes);
}

void score_samples(const BenchmarkRecords& records, std::vector<QuestionScore>& scores) {
  if (records.samples.empty()) return;
  std::vector<std::vector<const SampleRecord*>> by_question(records.num_questions);
  for (const auto& record : records.samples) {
    check_question_index(records, record, "sample");
    by_question[record.question].push_back(&record);
  }
  const std::size_t k = by_question.empty() ? 0 : by_question[0].size();
  for (std::size_t question = 0; question < by_question.size(); ++question) {
    auto& samples = by_question[question];
    if (samples.size() != k || k == 0)
      fail(records, question_label(question) + " has " + std::to_string(samples.size()) +
                        " samples, question 0 has " + std::to_string(k) +
                        " (every question needs the same k >= 1)");
    std::sort(samples.begin(), samples.end(),
              [](const SampleRecord* a, const SampleRecord* b) { return a->sample < b->sample; });
    for (std::size_t i = 0; i < k; ++i)
      if (samples[i]->sample != i)
        fail(records, question_label(question) + ": sample indices must be 0.." +
                          std::to_string(k - 1) + " once each");
    score_samples_of(samples, scores[question]);
  }
}

std::optional<double> mean(const std::vector<double>& values) {
  if (values.empty()) return std::nullopt;
  double total = 0.0;
  for (double value : values) total += value;
  return total / static_cast<double>(values.size());
}

// Scores of a set of questions (one benchmark, or all of them pooled).
Scores pooled_scores(const std::vector<const QuestionScore*>& questions) {
  Scores scores;
  scores.num_questions = questions.size();
  if (questions.empty()) return scores;
  bool have_greedy = true, have_samples = true;
  std::vector<double> greedy, accuracy, majority;
  for (const QuestionScore* question : questions) {
    have_greedy = have_greedy && question->greedy_correct.has_value();
    have_samples = have_samples && question->num_samples > 0;
    if (question->greedy_correct) greedy.push_back(*question->greedy_correct ? 1.0 : 0.0);
    accuracy.push_back(question->accuracy);
    majority.push_back(question->majority_correct ? 1.0 : 0.0);
  }
  if (have_greedy) scores.greedy_pass1 = mean(greedy);
  if (have_samples) {
    scores.k = questions.front()->num_samples;
    for (const QuestionScore* question : questions)
      if (question->num_samples != scores.k) scores.k = 0;
    scores.avg_at_k = mean(accuracy);
    scores.maj_at_k = mean(majority);
    std::vector<QuestionScore> copies;
    for (const QuestionScore* question : questions) copies.push_back(*question);
    scores.entropy_majority_correlation = entropy_majority_correlation(copies);
  }
  return scores;
}

std::vector<const QuestionScore*> pointers(const std::vector<QuestionScore>& questions) {
  std::vector<const QuestionScore*> result;
  for (const auto& question : questions) result.push_back(&question);
  return result;
}

// Mean over benchmarks of one metric; unset unless every benchmark has it.
std::optional<double> macro_mean(const std::vector<BenchmarkScores>& benchmarks,
                                 std::optional<double> Scores::*metric) {
  std::vector<double> values;
  for (const auto& benchmark : benchmarks) {
    if (!(benchmark.scores.*metric)) return std::nullopt;
    values.push_back(*(benchmark.scores.*metric));
  }
  return mean(values);
}

std::string percent(const std::optional<double>& value) {
  if (!value) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", 100.0 * *value);
  return buffer;
}

std::string correlation(const std::optional<double>& value) {
  if (!value) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%+.3f", *value);
  return buffer;
}

std::vector<std::string> table_row(const std::string& name, const Scores& scores) {
  return {name,
          std::to_string(scores.num_questions),
          scores.k > 0 ? std::to_string(scores.k) : "-",
          percent(scores.greedy_pass1),
          percent(scores.avg_at_k),
          percent(scores.maj_at_k),
          correlation(scores.entropy_majority_correlation)};
}

io::Json optional_json(const std::optional<double>& value) {
  return value ? io::Json(*value) : io::Json(nullptr);
}

io::Json scores_json(const Scores& scores) {
  return {{"num_questions", scores.num_questions},
          {"k", scores.k},
          {"greedy_pass1", optional_json(scores.greedy_pass1)},
          {"avg_at_k", optional_json(scores.avg_at_k)},
          {"maj_at_k", optional_json(scores.maj_at_k)},
          {"entropy_majority_correlation", optional_json(scores.entropy_majority_correlation)}};
}

}  // namespace

std::vector<QuestionScore> score_questions(const BenchmarkRecords& records) {
  std::vector<QuestionScore> scores(records.num_questions);
  for (std::size_t question = 0; question < scores.size(); ++question)
    scores[question].question = question;
  score_greedy(records, scores);
  score_samples(records, scores);
  return scores;
}

BenchmarkScores score_benchmark(const BenchmarkRecords& records) {
  BenchmarkScores result;
  result.name = records.name;
  result.questions = score_questions(records);
  result.scores = pooled_scores(pointers(result.questions));
  return result;
}

EvalSummary summarize(const std::vector<BenchmarkRecords>& benchmarks) {
  EvalSummary summary;
  std::vector<const QuestionScore*> all_questions;
  for (const auto& records : benchmarks) {
    for (const auto& earlier : summary.benchmarks)
      if (earlier.name == records.name)
        throw InputError("two benchmarks named " + records.name + " (names must be unique)");
    summary.benchmarks.push_back(score_benchmark(records));
  }
  for (const auto& benchmark : summary.benchmarks)
    for (const auto& question : benchmark.questions) all_questions.push_back(&question);
  summary.micro = pooled_scores(all_questions);
  summary.macro.num_questions = summary.micro.num_questions;
  summary.macro.k = summary.micro.k;
  summary.macro.greedy_pass1 = macro_mean(summary.benchmarks, &Scores::greedy_pass1);
  summary.macro.avg_at_k = macro_mean(summary.benchmarks, &Scores::avg_at_k);
  summary.macro.maj_at_k = macro_mean(summary.benchmarks, &Scores::maj_at_k);
  return summary;
}

std::optional<double> pearson(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) return std::nullopt;
  double mean_x = *mean(x), mean_y = *mean(y);
  double covariance = 0.0, variance_x = 0.0, variance_y = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    covariance += (x[i] - mean_x) * (y[i] - mean_y);
    variance_x += (x[i] - mean_x) * (x[i] - mean_x);
    variance_y += (y[i] - mean_y) * (y[i] - mean_y);
  }
  if (variance_x <= 0.0 || variance_y <= 0.0) return std::nullopt;
  return covariance / std::sqrt(variance_x * variance_y);
}

std::optional<double> entropy_majority_correlation(const std::vector<QuestionScore>& questions) {
  std::vector<double> entropy, majority;
  for (const auto& question : questions) {
    if (question.num_samples == 0) continue;
    entropy.push_back(question.semantic_entropy);
    majority.push_back(question.majority_correct ? 1.0 : 0.0);
  }
  return pearson(entropy, majority);
}

std::string format_summary_table(const EvalSummary& summary) {
  std::vector<std::vector<std::string>> rows = {
      {"benchmark", "questions", "k", "greedy pass@1", "avg@k", "maj@k", "r(H, maj ok)"}};
  for (const auto& benchmark : summary.benchmarks)
    rows.push_back(table_row(benchmark.name, benchmark.scores));
  if (summary.benchmarks.size() > 1) {
    rows.push_back(table_row("overall (micro)", summary.micro));
    rows.push_back(table_row("overall (macro)", summary.macro));
  }
  std::vector<std::size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows)
    for (std::size_t column = 0; column < row.size(); ++column)
      widths[column] = std::max(widths[column], row[column].size());
  std::string text;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t column = 0; column < row.size(); ++column) {
      std::string padding(widths[column] - row[column].size(), ' ');
      // Names read left-aligned, numbers right-aligned.
      line += column == 0 ? row[column] + padding : "  " + padding + row[column];
    }
    text += line + "\n";
  }
  return text;
}

io::Json to_json(const EvalSummary& summary) {
  io::Json benchmarks = io::Json::object();
  for (const auto& benchmark : summary.benchmarks)
    benchmarks[benchmark.name] = scores_json(benchmark.scores);
  return {{"benchmarks", benchmarks},
          {"overall_micro", scores_json(summary.micro)},
          {"overall_macro", scores_json(summary.macro)}};
}

}  // namespace empo::eval
