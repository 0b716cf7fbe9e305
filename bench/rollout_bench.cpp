// EMPO-shaped rollouts on CPU, side by side in one run, 2 threads each: this engine
// (continuous batching, paged keys/values shared by a prompt's samples) against Hugging Face
// transformers generate() and a plain eager PyTorch decode loop (bench/rollout_peer.py), on the
// same model folder and the same prompt ids.
//   demo: models/adder (the demo's policy), 32 held-out questions x G = 8, up to 48 new tokens,
//         stopping at EOS;
//   39M:  a random Qwen2-shaped model of 39M parameters, 16 prompts of 128 tokens x G = 8,
//         64 new tokens.
// Prints one JSON line per case with tokens/s of each and the ratios.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "empo/generate/engine.h"
#include "empo/io/jsonl.h"
#include "empo/model/config.h"
#include "empo/model/runtime.h"
#include "empo/model/transformer.h"
#include "empo/rl/memory_plan.h"
#include "empo/text/tokenizer.h"

namespace {

using namespace empo;
namespace fs = std::filesystem;

constexpr int kThreads = 2;

struct Case {
  std::string name;
  std::string model_folder;
  std::vector<std::vector<int64_t>> prompts;
  int64_t samples = 8;
  int64_t max_new_tokens = 0;
  int64_t eos_token_id = -1;  // -1: none
  int64_t pad_token_id = 0;
};

Case demo_case() {
  Case result;
  result.name = "demo";
  result.model_folder = std::string(EMPO_SOURCE_DIR) + "/models/adder";
  auto tokenizer = text::Tokenizer::load(result.model_folder + "/tokenizer.json");
  io::for_each_jsonl(std::string(EMPO_SOURCE_DIR) + "/data/adder/test.jsonl",
                     [&](const io::Json& line, long) {
                       if (result.prompts.size() < 32) {
                         auto ids = tokenizer.encode(line["question"].get<std::string>());
                         result.prompts.emplace_back(ids.begin(), ids.end());
                       }
                     });
  result.max_new_tokens = 48;
  auto config = model::load_model_config(result.model_folder);
  result.eos_token_id = config.eos_token_ids.at(0);
  result.pad_token_id = config.raw.value("pad_token_id", 0);
  return result;
}

Case random_39m_case(const std::string& dir) {
  const io::Json json = {{"architectures", {"Qwen2ForCausalLM"}},
                         {"model_type", "qwen2"},
                         {"vocab_size", 32000},
                         {"hidden_size", 512},
                         {"intermediate_size", 1408},
                         {"num_hidden_layers", 8},
                         {"num_attention_heads", 8},
                         {"num_key_value_heads", 2},
                         {"max_position_embeddings", 512},
                         {"rms_norm_eps", 1e-6},
                         {"rope_theta", 10000.0},
                         {"tie_word_embeddings", true},
                         {"torch_dtype", "float32"}};
  const auto config = model::parse_model_config(json, "the 39M bench model");
  Case result;
  result.name = "39M";
  result.model_folder = dir + "/random-39m";
  model::save_model(model::random_model(config, 0), result.model_folder, at::kFloat);
  for (int64_t i = 0; i < 16; ++i) {
    std::vector<int64_t> prompt;
    for (int64_t t = 0; t < 128; ++t) prompt.push_back((i * 7919 + t * 104729) % 32000);
    result.prompts.push_back(prompt);
  }
  result.max_new_tokens = 64;
  return result;
}

struct Timing {
  double seconds = 0;
  int64_t tokens = 0;
  double tokens_per_second() const { return tokens / seconds; }
};

// A warm-up, then the fastest of `repeats` timed runs (the peers are timed the same way).
Timing run_engine(const Case& bench_case, int repeats, generate::GenerationStats& stats) {
  auto model = model::load_model(bench_case.model_folder);
  generate::GenerationConfig config;
  config.max_new_tokens = bench_case.max_new_tokens;
  config.num_samples = bench_case.samples;
  config.prompts_per_batch = static_cast<int64_t>(bench_case.prompts.size());
  config.seed = 0;
  config.pad_token_id = bench_case.pad_token_id;
  if (bench_case.eos_token_id >= 0) config.eos_token_ids = {bench_case.eos_token_id};
  generate::generate(model, bench_case.prompts, config);  // warm-up
  Timing best;
  for (int repeat = 0; repeat < repeats; ++repeat) {
    auto start = std::chrono::steady_clock::now();
    auto samples = generate::generate(model, bench_case.prompts, config, nullptr, {}, &stats);
    Timing timing;
    timing.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const auto& sample : samples) timing.tokens += static_cast<int64_t>(sample.tokens.size());
    if (repeat == 0 || timing.seconds < best.seconds) best = timing;
  }
  return best;
}

io::Json run_peers(const Case& bench_case, int repeats, const std::string& dir) {
  const std::string case_path = dir + "/" + bench_case.name + ".json";
  io::Json json = {{"model", bench_case.model_folder},
                   {"prompts", bench_case.prompts},
                   {"G", bench_case.samples},
                   {"max_new_tokens", bench_case.max_new_tokens},
                   {"eos_token_id", bench_case.eos_token_id},
                   {"pad_token_id", bench_case.pad_token_id},
                   {"temperature", 1.0},
                   {"threads", kThreads},
                   {"repeats", repeats}};
  std::ofstream(case_path) << json.dump();
  const std::string command =
      "python3 " + std::string(EMPO_SOURCE_DIR) + "/bench/rollout_peer.py " + case_path;
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  while (pipe && std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  if (!pipe || pclose(pipe) != 0) return nullptr;
  return io::Json::parse(output);
}

// GPU rollouts (bench/gpu/run.sh): a random Qwen2.5-shaped model in bf16 on CUDA, `batch`
// prompts of 128 random tokens, 256 new tokens each, sampled at T = 1. long_tail: G = 8 samples
// of batch / 8 prompts, stopping at any of V / 200 "EOS" ids, so under a near-uniform random
// model lengths are geometric (mean ~200) up to 1,024, as EMPO's answers are long-tailed.
io::Json run_gpu(const std::string& shape, int64_t batch, bool long_tail) {
  struct Shape {
    int64_t hidden, layers, heads, kv_heads, intermediate;
  };
  const std::map<std::string, Shape> shapes = {{"0.5b", {896, 24, 14, 2, 4864}},
                                               {"1.5b", {1536, 28, 12, 2, 8960}},
                                               {"7b", {3584, 28, 28, 4, 18944}}};
  const Shape& s = shapes.at(shape);
  const io::Json json = {{"model_type", "qwen2"},
                         {"vocab_size", 151936},
                         {"hidden_size", s.hidden},
                         {"intermediate_size", s.intermediate},
                         {"num_hidden_layers", s.layers},
                         {"num_attention_heads", s.heads},
                         {"num_key_value_heads", s.kv_heads},
                         {"max_position_embeddings", 32768},
                         {"rms_norm_eps", 1e-6},
                         {"rope_theta", 1e6},
                         {"tie_word_embeddings", shape != "7b"},
                         {"torch_dtype", "bfloat16"}};
  model::LoadOptions options;
  options.dtype = at::kBFloat16;
  options.device = at::Device(at::kCUDA);
  auto model = model::random_model(model::parse_model_config(json, shape), 0, options);
  const int64_t G = long_tail ? 8 : 1;
  std::vector<std::vector<int64_t>> prompts(batch / G);
  for (size_t i = 0; i < prompts.size(); ++i)
    for (int64_t t = 0; t < 128; ++t)
      prompts[i].push_back(static_cast<int64_t>((i * 7919 + t * 104729) % 151936));
  generate::GenerationConfig config;
  config.max_new_tokens = long_tail ? 1024 : 256;
  config.num_samples = G;
  config.prompts_per_batch = static_cast<int64_t>(prompts.size());
  if (long_tail)
    for (int64_t id = 0; id < 151936; id += 200) config.eos_token_ids.push_back(id);
  // A warm-up (and, with graphs, the captures, kept in the session as a trainer keeps them),
  // then one timed run that replays them.
  generate::DecodeSession session;
  config.session = &session;
  auto timed = [&](bool graphs, generate::GenerationStats& stats, double& seconds) {
    config.cuda_graphs = graphs;
    generate::generate(model, prompts, config);
    torch::cuda::synchronize();
    auto start = std::chrono::steady_clock::now();
    auto result = generate::generate(model, prompts, config, nullptr, {}, &stats);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  };
  generate::GenerationStats stats, graph_stats;
  double seconds = 0, graph_seconds = 0;
  auto samples = timed(false, stats, seconds);
  auto graphed = timed(true, graph_stats, graph_seconds);
  // The graph path against the eager one: whole samples alike (bf16 GEMMs of another batch
  // shape may round differently, so a share below 1 can be fine), and the first token's
  // log-probability, drawn from the same prompt in both.
  int64_t identical = 0, graph_tokens = 0;
  double first_logprob_difference = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    identical += samples[i].tokens == graphed[i].tokens ? 1 : 0;
    graph_tokens += static_cast<int64_t>(graphed[i].tokens.size());
    if (!samples[i].policy_logprobs.empty() && !graphed[i].policy_logprobs.empty())
      first_logprob_difference =
          std::max<double>(first_logprob_difference,
                           std::abs(samples[i].policy_logprobs[0] - graphed[i].policy_logprobs[0]));
  }
  int64_t tokens = 0, context = 0;
  for (const auto& sample : samples) {
    tokens += static_cast<int64_t>(sample.tokens.size());
    context += static_cast<int64_t>(sample.tokens.size()) * (128 + sample.tokens.size() / 2);
  }
  return {{"impl", "empo"},
          {"shape", shape},
          {"batch", batch},
          {"long_tail", long_tail},
          {"tokens", tokens},
          {"seconds", seconds},
          {"tokens_per_second", tokens / seconds},
          {"parameters", rl::parameter_count(model.config)},
          {"kv_bytes_per_token", model::slot_bytes(model)},
          {"mean_context", static_cast<double>(context) / std::max<int64_t>(1, tokens)},
          {"kv_MiB", stats.kv_cache_bytes / 1048576.0},
          {"preemptions", stats.preemptions},
          {"graphs_tokens_per_second", graph_tokens / graph_seconds},
          {"graphs_captured_buckets", graph_stats.captured_graphs},
          {"graphs_identical_samples", static_cast<double>(identical) / samples.size()},
          {"graphs_first_logprob_max_difference", first_logprob_difference}};
}

}  // namespace

// --engine-only: skip the Python peers (for profiling this engine alone); --case NAME: one case;
// --repeats N: timed runs per side, the fastest reported (default 3).
int main(int argc, char** argv) {
  model::use_native_blas_kernels(argv);
  bool engine_only = false;
  std::string only_case;
  int repeats = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--engine-only") engine_only = true;
    if (std::string(argv[i]) == "--case" && i + 1 < argc) only_case = argv[++i];
    if (std::string(argv[i]) == "--repeats" && i + 1 < argc) repeats = std::stoi(argv[++i]);
    // --gpu SHAPE BATCH [long-tail]: one CUDA measurement (bench/gpu/run.sh).
    if (std::string(argv[i]) == "--gpu" && i + 2 < argc) {
      model::init_runtime(kThreads);
      const bool long_tail = i + 3 < argc && std::string(argv[i + 3]) == "long-tail";
      std::cout << run_gpu(argv[i + 1], std::stoll(argv[i + 2]), long_tail).dump() << std::endl;
      return 0;
    }
  }
  model::init_runtime(kThreads);
  const std::string dir = fs::temp_directory_path() / "empo_rollout_bench";
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const std::string name : {"demo", "39M"}) {
    if (!only_case.empty() && name != only_case) continue;
    const Case bench_case = name == "demo" ? demo_case() : random_39m_case(dir);
    generate::GenerationStats stats;
    const Timing ours = run_engine(bench_case, repeats, stats);
    io::Json line = {{"case", bench_case.name},
                     {"rows", bench_case.prompts.size() * bench_case.samples},
                     {"empo_tokens", ours.tokens},
                     {"empo_seconds", ours.seconds},
                     {"empo_tok_s", ours.tokens_per_second()},
                     {"empo_kv_MiB", stats.kv_cache_bytes / 1048576.0}};
    auto peers = engine_only ? io::Json() : run_peers(bench_case, repeats, dir);
    if (engine_only) {
    } else if (peers.is_null()) {
      line["peers"] =
          "skipped: python3 cannot run bench/rollout_peer.py (pip install torch transformers)";
    } else {
      for (const char* peer : {"transformers", "eager"}) {
        const double tok_s =
            peers[peer]["tokens"].get<double>() / peers[peer]["seconds"].get<double>();
        line[std::string(peer) + "_tokens"] = peers[peer]["tokens"];
        line[std::string(peer) + "_seconds"] = peers[peer]["seconds"];
        line[std::string(peer) + "_tok_s"] = tok_s;
        line[std::string("speedup_vs_") + peer] = ours.tokens_per_second() / tok_s;
      }
    }
    std::cout << line.dump() << std::endl;
  }
  return 0;
}
