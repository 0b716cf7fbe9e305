#include "empo/eval/benchmark.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "empo/io/error.h"
#include "empo/io/jsonl.h"

namespace empo::eval {
namespace {

io::Json completion_json(const Completion& completion, bool with_cluster) {
  io::Json json = {{"completion", completion.text},
                   {"answer", completion.answer},
                   {"correct", completion.correct}};
  if (with_cluster) json["cluster"] = completion.cluster;
  return json;
}

const io::Json& typed_field(const io::Json& object, const char* key, bool (io::Json::*is)() const,
                            const char* expected, const std::string& path, long line) {
  const io::Json& value = io::require_field(object, key, path, line);
  if (!(value.*is)())
    throw_input_error(path, line, std::string("field \"") + key + "\" must be " + expected);
  return value;
}

SampleRecord read_sample(const io::Json& json, std::size_t question, std::size_t sample,
                         bool with_cluster, const std::string& path, long line) {
  SampleRecord record;
  record.question = question;
  record.sample = sample;
  record.answer =
      typed_field(json, "answer", &io::Json::is_string, "a string", path, line).get<std::string>();
  record.correct =
      typed_field(json, "correct", &io::Json::is_boolean, "a boolean", path, line).get<bool>();
  if (with_cluster)
    record.cluster =
        typed_field(json, "cluster", &io::Json::is_number_integer, "an integer", path, line)
            .get<int>();
  return record;
}

}  // namespace

std::string benchmark_name(const std::string& path) {
  return std::filesystem::path(path).stem().string();
}

Benchmark load_benchmark(const std::string& path) {
  Benchmark benchmark;
  benchmark.name = benchmark_name(path);
  benchmark.path = path;
  benchmark.questions = data::read_questions(path);
  for (const auto& question : benchmark.questions)
    if (question.answers.empty())
      throw_input_error(path, question.line,
                        "no golden answer (\"answer\", \"reward_model.ground_truth\" or "
                        "\"solution\"): a benchmark question needs one");
  return benchmark;
}

BenchmarkRecords to_records(const std::string& name, const std::vector<QuestionResult>& results) {
  BenchmarkRecords records;
  records.name = name;
  records.num_questions = results.size();
  for (std::size_t question = 0; question < results.size(); ++question) {
    const auto& result = results[question];
    if (result.greedy)
      records.greedy.push_back(
          {question, 0, result.greedy->answer, result.greedy->cluster, result.greedy->correct});
    for (std::size_t sample = 0; sample < result.samples.size(); ++sample) {
      const auto& completion = result.samples[sample];
      records.samples.push_back(
          {question, sample, completion.answer, completion.cluster, completion.correct});
    }
  }
  return records;
}

void write_question_records(const std::string& path, const Benchmark& benchmark,
                            const std::vector<QuestionResult>& results) {
  if (results.size() != benchmark.questions.size())
    throw std::invalid_argument("write_question_records: " + std::to_string(results.size()) +
                                " results for " + std::to_string(benchmark.questions.size()) +
                                " questions of " + benchmark.name);
  std::vector<QuestionScore> scores = score_questions(to_records(benchmark.name, results));
  io::JsonlWriter writer(path);
  for (std::size_t index = 0; index < results.size(); ++index) {
    const auto& question = benchmark.questions[index];
    const auto& result = results[index];
    io::Json record = {{"benchmark", benchmark.name},
                       {"index", index},
                       {"id", question.id},
                       {"question", question.text},
                       {"answers", question.answers}};
    if (result.greedy) record["greedy"] = completion_json(*result.greedy, false);
    io::Json samples = io::Json::array();
    for (const auto& sample : result.samples) samples.push_back(completion_json(sample, true));
    record["samples"] = samples;
    if (!result.samples.empty()) {
      record["majority_answer"] = scores[index].majority_answer;
      record["majority_correct"] = scores[index].majority_correct;
      record["semantic_entropy"] = scores[index].semantic_entropy;
    }
    writer.write(record);
  }
  writer.commit();
}

std::vector<BenchmarkRecords> read_question_records(const std::string& path) {
  std::vector<BenchmarkRecords> benchmarks;
  std::map<std::string, std::size_t> position;  // benchmark name -> index in `benchmarks`
  io::for_each_jsonl(path, [&](const io::Json& json, long line) {
    std::string name = typed_field(json, "benchmark", &io::Json::is_string, "a string", path, line)
                           .get<std::string>();
    std::size_t index = typed_field(json, "index", &io::Json::is_number_unsigned,
                                    "a non-negative integer", path, line)
                            .get<std::size_t>();
    auto [found, inserted] = position.emplace(name, benchmarks.size());
    if (inserted) benchmarks.push_back(BenchmarkRecords{name, 0, {}, {}});
    BenchmarkRecords& records = benchmarks[found->second];
    records.num_questions = std::max(records.num_questions, index + 1);
    if (json.contains("greedy"))
      records.greedy.push_back(read_sample(json["greedy"], index, 0, false, path, line));
    if (json.contains("samples")) {
      const io::Json& samples = json["samples"];
      if (!samples.is_array()) throw_input_error(path, line, "field \"samples\" must be a list");
      for (std::size_t sample = 0; sample < samples.size(); ++sample)
        records.samples.push_back(read_sample(samples[sample], index, sample, true, path, line));
    }
  });
  return benchmarks;
}

}  // namespace empo::eval
