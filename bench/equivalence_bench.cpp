// Answer equivalence throughput on realistic pairs: the 1,517 ground-truth answers of
// AIME24, AMC23, MATH500, Minerva and OlympiadBench, each against a re-written form of itself
// (\dfrac -> \frac, \left( \right) dropped, extra spaces: equivalent) and against the next
// answer in the file (almost always different), plus clustering of groups of 8. With
// EMPO_PAIRS_FILE set to a JSONL file of {"a", "b"} lines (what bench/math_verify_compare.py
// writes), BM_ComparePairsFile measures those pairs, parse included.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "empo/io/jsonl.h"
#include "empo/reward/cluster.h"
#include "empo/reward/equivalence.h"

namespace {

using empo::reward::MathValue;

std::vector<std::string> ground_truths() {
  static const std::vector<std::string> answers = [] {
    std::vector<std::string> all;
    for (const char* name : {"aime24", "amc23", "math500", "minerva_math", "olympiadbench"}) {
      std::string path = std::string(EMPO_SOURCE_DIR) + "/data/benchmarks/" + name + ".jsonl";
      empo::io::for_each_jsonl(path, [&](const empo::io::Json& row, long) {
        for (const auto& answer : row.at("reward_model").at("ground_truth")) {
          all.push_back(answer.get<std::string>());
        }
      });
    }
    return all;
  }();
  return answers;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string rewritten(const std::string& answer) {
  std::string text = replace_all(answer, "\\dfrac", "\\frac");
  text = replace_all(text, "\\left(", "(");
  text = replace_all(text, "\\right)", ")");
  std::string out = " ";
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      out += " \\";
      out += text[++i];
    } else if (text[i] == '+' || text[i] == '=') {
      out += std::string(" ") + text[i] + " ";
    } else {
      out += text[i];
    }
  }
  return out;
}

// kind 0: each answer with its re-written form; kind 1: each answer with the next one.
std::vector<std::pair<std::string, std::string>> pairs(int kind) {
  std::vector<std::string> answers = ground_truths();
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < answers.size(); ++i) {
    out.emplace_back(answers[i],
                     kind == 0 ? rewritten(answers[i]) : answers[(i + 1) % answers.size()]);
  }
  return out;
}

// Parse and compare two answer strings, as `empo grade` and a supervised reward do.
void BM_CompareAnswers(benchmark::State& state, int kind) {
  auto work = pairs(kind);
  size_t i = 0;
  long equivalent = 0;
  for (auto _ : state) {
    const auto& [a, b] = work[i++ % work.size()];
    bool same = empo::reward::equivalent(a, b);
    equivalent += same;
    benchmark::DoNotOptimize(same);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["equivalent_share"] =
      static_cast<double>(equivalent) / static_cast<double>(state.iterations());
}
BENCHMARK_CAPTURE(BM_CompareAnswers, with_rewrite, 0);
BENCHMARK_CAPTURE(BM_CompareAnswers, with_next_answer, 1);

// Compare already parsed answers, as clustering does after its parse cache.
void BM_CompareParsed(benchmark::State& state, int kind) {
  auto work = pairs(kind);
  std::vector<std::pair<MathValue, MathValue>> parsed;
  for (const auto& [a, b] : work) {
    parsed.emplace_back(empo::reward::parse_answer(a), empo::reward::parse_answer(b));
  }
  empo::reward::EquivalenceConfig config;
  size_t i = 0;
  for (auto _ : state) {
    const auto& [a, b] = parsed[i++ % parsed.size()];
    benchmark::DoNotOptimize(empo::reward::compare(a, b, config));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_CompareParsed, with_rewrite, 0);
BENCHMARK_CAPTURE(BM_CompareParsed, with_next_answer, 1);

// The pairs of EMPO_PAIRS_FILE in file order, cycling: the same work math-verify does in
// bench/math_verify_compare.py.
void BM_ComparePairsFile(benchmark::State& state, std::string path) {
  std::vector<std::pair<std::string, std::string>> work;
  empo::io::for_each_jsonl(path, [&](const empo::io::Json& row, long) {
    work.emplace_back(row.at("a").get<std::string>(), row.at("b").get<std::string>());
  });
  if (work.empty()) {
    state.SkipWithError("no pairs");
    return;
  }
  size_t i = 0;
  long equivalent = 0;
  for (auto _ : state) {
    const auto& [a, b] = work[i++ % work.size()];
    bool same = empo::reward::equivalent(a, b);
    equivalent += same;
    benchmark::DoNotOptimize(same);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["pairs"] = static_cast<double>(work.size());
  state.counters["equivalent_share"] =
      static_cast<double>(equivalent) / static_cast<double>(state.iterations());
}

void BM_ParseAnswer(benchmark::State& state) {
  std::vector<std::string> answers = ground_truths();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(empo::reward::parse_answer(answers[i++ % answers.size()]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseAnswer);

// One EMPO group of G = 8 answers: two forms of the answer to question i, one of question
// i+1 twice, and four more distinct answers; items are groups.
void BM_ClusterGroupOf8(benchmark::State& state) {
  std::vector<std::string> answers = ground_truths();
  std::vector<std::vector<std::string>> groups;
  for (size_t i = 0; i + 6 < answers.size(); i += 7) {
    groups.push_back({answers[i], rewritten(answers[i]), answers[i + 1], rewritten(answers[i + 1]),
                      answers[i + 2], answers[i + 3], answers[i + 4], answers[i + 5]});
  }
  size_t i = 0;
  long comparisons = 0;
  for (auto _ : state) {
    empo::reward::Clustering clustering = empo::reward::cluster(groups[i++ % groups.size()]);
    comparisons += clustering.comparisons;
    benchmark::DoNotOptimize(clustering.entropy);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["comparisons_per_group"] =
      static_cast<double>(comparisons) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ClusterGroupOf8);

}  // namespace

int main(int argc, char** argv) {
  if (const char* path = std::getenv("EMPO_PAIRS_FILE")) {
    benchmark::RegisterBenchmark("BM_ComparePairsFile", BM_ComparePairsFile, std::string(path));
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
