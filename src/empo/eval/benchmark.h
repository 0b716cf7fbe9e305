#pragma once
// Benchmarks: JSONL question files with golden answers (the verl-format files of
// ../shared/data/benchmarks and plain {"problem", "answer"} files; every shape that
// data/prompt_source.h reads), and the per-question records an evaluation writes, which can
// be read back to recompute the metrics.
#include <optional>
#include <string>
#include <vector>

#include "empo/data/prompt_source.h"
#include "empo/eval/metrics.h"

namespace empo::eval {

struct Benchmark {
  std::string name;  // the file stem: math500.jsonl -> "math500"
  std::string path;
  std::vector<data::Question> questions;
};

// InputError "path:line: ..." for a bad line or a question without a golden answer (a
// benchmark cannot be scored without one), or when the file has no questions.
Benchmark load_benchmark(const std::string& path);

std::string benchmark_name(const std::string& path);

// One graded completion of a question.
struct Completion {
  std::string text;    // the completion as generated
  std::string answer;  // extracted answer, "" when none
  int cluster = 0;     // semantic cluster within the question (samples only)
  bool correct = false;
};

struct QuestionResult {
  std::optional<Completion> greedy;
  std::vector<Completion> samples;
};

// The records the metrics take (question i = results[i]; sample j = samples[j]).
BenchmarkRecords to_records(const std::string& name, const std::vector<QuestionResult>& results);

// One JSON line per question:
//   {"benchmark", "index", "id", "question", "answers",
//    "greedy": {"completion", "answer", "correct"}            (when evaluated)
//    "samples": [{"completion", "answer", "cluster", "correct"}, ...],
//    "majority_answer", "majority_correct", "semantic_entropy"  (when sampled)}
// results[i] belongs to benchmark.questions[i]. Written atomically.
void write_question_records(const std::string& path, const Benchmark& benchmark,
                            const std::vector<QuestionResult>& results);

// Records written by write_question_records (one or several files concatenated), grouped by
// "benchmark" in order of first appearance. The derived fields (majority_*, semantic_entropy)
// are not read: the metrics are recomputed. InputError "path:line: ..." on a bad line.
std::vector<BenchmarkRecords> read_question_records(const std::string& path);

}  // namespace empo::eval
