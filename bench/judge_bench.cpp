// LLM-judge clustering throughput: 32 questions x G = 8 free-form answers, clustered by a
// random-weight judge (f32, CPU) through the batched paths (reward/judge_clustering.h: one
// left-padded batch per cluster round of one question, cluster_with_judge; or one per round of
// all 32 questions together, cluster_many_with_judge, as training does) against the unbatched
// path in the same run (Judge's predicate with cluster_with: one forward pass per prompt). Two
// judge sizes: the demo model's shape (hidden 128, 2 layers) and a 39M Qwen2-shaped model (hidden
// 512, 12 layers, vocab 8192). Counters: model-decided pairs/s, prompts/s, questions/s; the paths
// differ in how many pairs they decide (founders only vs every pair not yet joined), so prompts/s
// is the like-for-like number.
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>

#include "empo/generate/judge_scorer.h"
#include "empo/model/runtime.h"
#include "empo/reward/judge.h"
#include "empo/reward/judge_clustering.h"
#include "empo/text/tokenizer_writer.h"

namespace {

using namespace empo;

constexpr int kQuestions = 32;
constexpr int kGenerations = 8;

model::ModelConfig judge_config(bool large) {
  model::ModelConfig config;
  config.model_type = "qwen2";
  config.vocab_size = large ? 8192 : 128;  // >= the character tokenizer's 96 ids
  config.hidden_size = large ? 512 : 128;
  config.intermediate_size = large ? 1408 : 512;
  config.num_hidden_layers = large ? 12 : 2;
  config.num_attention_heads = large ? 8 : 4;
  config.num_key_value_heads = large ? 2 : 4;
  config.head_dim = large ? 64 : 32;
  config.attention_bias = true;
  config.tie_word_embeddings = true;
  config.max_position_embeddings = 1024;
  return config;
}

const generate::Policy& judge(bool large) {
  static std::unique_ptr<generate::Policy> policies[2];
  auto& slot = policies[large ? 1 : 0];
  if (!slot) {
    model::init_runtime();
    const auto dir = (std::filesystem::temp_directory_path() / "empo_judge_bench").string();
    text::CharVocabulary vocabulary;  // printable ASCII, one token each
    vocabulary.characters.clear();
    for (char c = 32; c < 127; ++c) vocabulary.characters.push_back(c);
    text::write_char_tokenizer(dir, vocabulary);
    auto tokenizer = text::Tokenizer::load(dir);
    text::ChatTemplate chat;
    slot = std::make_unique<generate::Policy>(
        generate::Policy{dir, model::random_model(judge_config(large), 0), tokenizer, chat});
  }
  return *slot;
}

// Question q's G answers: short sentences from a few meanings, so groups repeat and differ.
std::vector<std::string> answers(int q) {
  static const char* kForms[] = {"It is %d.", "The answer is %d", "%d", "Probably %d, I think."};
  std::vector<std::string> result;
  for (int i = 0; i < kGenerations; ++i) {
    char text[64];
    std::snprintf(text, sizeof text, kForms[(q + i) % 4], (q * 7 + i * 3) % 5);
    result.push_back(text);
  }
  return result;
}

std::string question(int q) {
  return "Question " + std::to_string(q) + ": what number does the speaker have in mind?";
}

reward::JudgeConfig clustering_config() {
  reward::JudgeConfig config;
  config.mode = reward::JudgeMode::bidirectional;
  return config;
}

void report(benchmark::State& state, long pairs, long prompts, double seconds) {
  state.counters["pairs/s"] = pairs / seconds;
  state.counters["prompts/s"] = prompts / seconds;
  state.counters["questions/s"] = kQuestions * state.iterations() / seconds;
}

void BM_BatchedJudge(benchmark::State& state) {
  const auto& policy = judge(state.range(0) == 1);
  auto scorer = generate::yes_no_batch_scorer(policy, false);
  reward::YesNoBatchScorer batch = [&](const std::vector<std::string>& prompts) {
    std::vector<reward::YesNoLogProbs> scores;
    for (const auto& [yes, no] : scorer(prompts)) scores.push_back({yes, no});
    return scores;
  };
  long pairs = 0;
  reward::JudgeClusteringStats stats;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state)
    for (int q = 0; q < kQuestions; ++q)
      pairs +=
          reward::cluster_with_judge(question(q), answers(q), batch, clustering_config(), &stats)
              .comparisons;
  report(state, pairs, stats.prompts,
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  state.counters["batches"] = static_cast<double>(stats.batches);
}

void BM_BatchedJudgeAcrossQuestions(benchmark::State& state) {
  const auto& policy = judge(state.range(0) == 1);
  auto batch = generate::judge_batch_scorer(policy, false);
  std::vector<reward::JudgeClusteringInput> inputs;
  for (int q = 0; q < kQuestions; ++q) inputs.push_back({question(q), answers(q)});
  long pairs = 0;
  reward::JudgeClusteringStats stats;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state)
    for (const auto& clustering :
         reward::cluster_many_with_judge(inputs, batch, clustering_config(), &stats))
      pairs += clustering.comparisons;
  report(state, pairs, stats.prompts,
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  state.counters["batches"] = static_cast<double>(stats.batches);
}

void BM_UnbatchedJudge(benchmark::State& state) {
  const auto& policy = judge(state.range(0) == 1);
  auto scorer = generate::yes_no_scorer(policy, false);
  reward::Judge judge(
      [&](const std::string& prompt) {
        auto [yes, no] = scorer(prompt);
        return reward::YesNoLogProbs{yes, no};
      },
      clustering_config());
  long pairs = 0;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state)
    for (int q = 0; q < kQuestions; ++q)
      pairs += reward::cluster_with(answers(q), judge.predicate(question(q))).comparisons;
  report(state, pairs, judge.scorer_calls(),
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

// Arg 0: the demo model's shape; 1: the 39M model.
BENCHMARK(BM_BatchedJudge)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();
BENCHMARK(BM_BatchedJudgeAcrossQuestions)
    ->Arg(0)
    ->Arg(1)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK(BM_UnbatchedJudge)
    ->Arg(0)
    ->Arg(1)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
