#include "empo/eval/benchmark.h"

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "empo/io/error.h"
#include "test_support.h"

namespace empo::eval {
namespace {

TEST(Benchmark, LoadsVerlFiles) {
  Benchmark math = load_benchmark(test::fixture("data/benchmarks/math500.jsonl"));
  EXPECT_EQ(math.name, "math500");
  ASSERT_EQ(math.questions.size(), 3u);
  EXPECT_EQ(math.questions[1].answers, std::vector<std::string>{"p - q"});
  EXPECT_EQ(math.questions[2].answers, std::vector<std::string>{"\\frac{14}{3}"});
  EXPECT_TRUE(math.questions[0].is_prompt);
  for (const char* name : {"aime24", "amc23", "minerva_math", "olympiadbench"}) {
    Benchmark benchmark =
        load_benchmark(test::fixture(std::string("data/benchmarks/") + name + ".jsonl"));
    EXPECT_EQ(benchmark.name, name);
    EXPECT_EQ(benchmark.questions.size(), 3u);
  }
}

TEST(Benchmark, LoadsPlainProblemAnswerFiles) {
  std::string dir = test::temp_dir("benchmark_plain");
  test::write_text(dir + "/my.set.jsonl",
                   "{\"problem\": \"1+1?\", \"answer\": \"2\"}\n"
                   "{\"problem\": \"2+2?\", \"answer\": 4}\n");
  Benchmark benchmark = load_benchmark(dir + "/my.set.jsonl");
  EXPECT_EQ(benchmark.name, "my.set");
  EXPECT_EQ(benchmark.questions[1].answers, std::vector<std::string>{"4"});
  EXPECT_FALSE(benchmark.questions[0].is_prompt);
}

TEST(Benchmark, QuestionWithoutAnswerIsAnInputError) {
  std::string dir = test::temp_dir("benchmark_unlabeled");
  test::write_text(dir + "/b.jsonl",
                   "{\"problem\": \"1+1?\", \"answer\": \"2\"}\n\n{\"problem\": \"no answer\"}\n");
  try {
    load_benchmark(dir + "/b.jsonl");
    ADD_FAILURE() << "accepted a question without an answer";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("b.jsonl:3: no golden answer"), std::string::npos)
        << error.what();
  }
}

Benchmark two_questions() {
  Benchmark benchmark;
  benchmark.name = "tiny";
  data::Question first, second;
  first.id = "tiny:1";
  first.text = "1+1?";
  first.answers = {"2"};
  second.id = "tiny:2";
  second.text = "2+3?";
  second.answers = {"5"};
  benchmark.questions = {first, second};
  return benchmark;
}

std::vector<QuestionResult> two_results() {
  QuestionResult first, second;
  first.greedy = Completion{"so \\boxed{2}", "2", 0, true};
  first.samples = {{"\\boxed{2}", "2", 0, true},
                   {"\\boxed{3}", "3", 1, false},
                   {"\\boxed{2.0}", "2.0", 0, true}};
  second.greedy = Completion{"\\boxed{6}", "6", 0, false};
  second.samples = {
      {"\\boxed{6}", "6", 0, false}, {"no box", "", 1, false}, {"\\boxed{5}", "5", 2, true}};
  return {first, second};
}

TEST(Benchmark, ToRecordsNumbersQuestionsAndSamples) {
  BenchmarkRecords records = to_records("tiny", two_results());
  EXPECT_EQ(records.num_questions, 2u);
  ASSERT_EQ(records.greedy.size(), 2u);
  ASSERT_EQ(records.samples.size(), 6u);
  EXPECT_EQ(records.samples[4].question, 1u);
  EXPECT_EQ(records.samples[4].sample, 1u);
  EXPECT_EQ(records.samples[4].answer, "");
  EXPECT_EQ(records.samples[5].cluster, 2);
  BenchmarkScores scores = score_benchmark(records);
  EXPECT_DOUBLE_EQ(*scores.scores.greedy_pass1, 0.5);
  EXPECT_DOUBLE_EQ(*scores.scores.avg_at_k, (2.0 / 3.0 + 1.0 / 3.0) / 2.0);
  // q0: cluster 0 (2 of 3) right; q1: three singletons, the tie goes to cluster 0 ("6"), wrong.
  EXPECT_DOUBLE_EQ(*scores.scores.maj_at_k, 0.5);
}

TEST(Benchmark, RecordsRoundTripThroughJsonl) {
  std::string dir = test::temp_dir("benchmark_records");
  Benchmark tiny = two_questions();
  write_question_records(dir + "/tiny.jsonl", tiny, two_results());

  std::istringstream lines(test::read_text(dir + "/tiny.jsonl"));
  std::string line;
  std::getline(lines, line);
  io::Json first = io::Json::parse(line);
  EXPECT_EQ(first["benchmark"], "tiny");
  EXPECT_EQ(first["index"], 0);
  EXPECT_EQ(first["id"], "tiny:1");
  EXPECT_EQ(first["question"], "1+1?");
  EXPECT_EQ(first["answers"], io::Json::array({"2"}));
  EXPECT_EQ(first["greedy"],
            (io::Json{{"completion", "so \\boxed{2}"}, {"answer", "2"}, {"correct", true}}));
  EXPECT_EQ(
      first["samples"][1],
      (io::Json{
          {"completion", "\\boxed{3}"}, {"answer", "3"}, {"cluster", 1}, {"correct", false}}));
  EXPECT_EQ(first["majority_answer"], "2");
  EXPECT_EQ(first["majority_correct"], true);

  // A second benchmark in another file, then both concatenated: grouped by benchmark.
  Benchmark other = two_questions();
  other.name = "other";
  std::vector<QuestionResult> greedy_only = two_results();
  for (auto& result : greedy_only) result.samples.clear();
  write_question_records(dir + "/other.jsonl", other, greedy_only);
  test::write_text(dir + "/all.jsonl",
                   test::read_text(dir + "/tiny.jsonl") + test::read_text(dir + "/other.jsonl"));

  std::vector<BenchmarkRecords> read = read_question_records(dir + "/all.jsonl");
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].name, "tiny");
  EXPECT_EQ(read[1].name, "other");
  EXPECT_TRUE(read[1].samples.empty());
  EvalSummary from_file = summarize(read);
  EvalSummary direct =
      summarize({to_records("tiny", two_results()), to_records("other", greedy_only)});
  EXPECT_EQ(to_json(from_file), to_json(direct));
  EXPECT_EQ(format_summary_table(from_file), format_summary_table(direct));
}

TEST(Benchmark, BadRecordLinesNameFileAndLine) {
  std::string dir = test::temp_dir("benchmark_bad_records");
  const std::string good =
      "{\"benchmark\": \"b\", \"index\": 0, \"samples\": [{\"answer\": \"1\", \"cluster\": 0, "
      "\"correct\": true}]}\n";
  struct Case {
    std::string line, fragment;
  };
  for (const Case& bad : std::vector<Case>{
           {"{\"index\": 1}", "missing field \"benchmark\""},
           {"{\"benchmark\": \"b\", \"index\": -1}", "\"index\" must be a non-negative integer"},
           {"{\"benchmark\": \"b\", \"index\": 1, \"samples\": {}}", "\"samples\" must be a list"},
           {"{\"benchmark\": \"b\", \"index\": 1, \"samples\": [{\"answer\": \"1\", "
            "\"correct\": true}]}",
            "missing field \"cluster\""},
           {"{\"benchmark\": \"b\", \"index\": 1, \"greedy\": {\"answer\": \"1\", \"correct\": "
            "\"yes\"}}",
            "\"correct\" must be a boolean"},
           {"{\"benchmark\": \"b\", \"index\": 1, \"greedy\": {\"answer\": 1, \"correct\": "
            "true}}",
            "\"answer\" must be a string"},
       }) {
    test::write_text(dir + "/r.jsonl", good + bad.line + "\n");
    try {
      read_question_records(dir + "/r.jsonl");
      ADD_FAILURE() << "accepted " << bad.line;
    } catch (const InputError& error) {
      std::string message = error.what();
      EXPECT_NE(message.find("r.jsonl:2: "), std::string::npos) << message;
      EXPECT_NE(message.find(bad.fragment), std::string::npos) << message;
    }
  }
}

TEST(Benchmark, ResultsMustMatchQuestions) {
  std::string dir = test::temp_dir("benchmark_mismatch");
  std::vector<QuestionResult> one = two_results();
  one.pop_back();
  EXPECT_THROW(write_question_records(dir + "/x.jsonl", two_questions(), one),
               std::invalid_argument);
}

}  // namespace
}  // namespace empo::eval
