// `empo eval`: greedy pass@1, avg@k and maj@k of a model on benchmark files; TruthfulQA's
// MC1/MC2 with --truthfulqa.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "command.h"
#include "empo/eval/benchmark.h"
#include "empo/eval/metrics.h"
#include "empo/eval/truthfulqa.h"
#include "empo/io/error.h"
#include "empo/log/progress.h"
#include "empo/model/logprobs.h"
#include "empo/model/lora.h"
#include "empo/model/runtime.h"
#include "empo/rl/evaluate.h"

namespace {

struct EvalOptions {
  std::string model;
  std::string adapter;  // a LoRA adapter folder applied unmerged
  std::vector<std::string> data;
  std::string truthfulqa;  // TruthfulQA CSV: MC1/MC2
  int64_t limit = 0;       // the first N TruthfulQA questions; 0: all
  std::string output_dir;
  std::string config;  // take prompt/extraction/equivalence from a training config
  int64_t samples = 0;
  int64_t max_new_tokens = 3000;
  int64_t batch_size = 16;
  double temperature = 1.0, top_p = 1.0;
  uint64_t seed = 0;
  std::string system_prompt = empo::data::kAuthorsSystemPrompt;
  std::string question_template = empo::data::kAuthorsQuestionTemplate;
  std::string chat_format = "auto";
  std::string answer_extraction = "boxed";
  std::string equivalence = "math";
  std::string device = "auto", dtype = "auto", attn_implementation = "auto";
  bool no_greedy = false;
};

empo::rl::EvalSettings settings_from(const EvalOptions& options) {
  using namespace empo;
  rl::EvalSettings settings;
  if (!options.config.empty()) {
    auto config = rl::load_config(options.config);
    auto equivalence = config.equivalence == rl::Equivalence::exact ? rl::exact_equivalence()
                                                                    : rl::math_equivalence();
    settings = rl::eval_settings_from(config, equivalence, options.samples);
  } else {
    settings.prompt.system_prompt = options.system_prompt;
    settings.prompt.question_template = options.question_template;
    if (options.chat_format != "auto")
      settings.prompt.format = text::parse_chat_format(options.chat_format, "--chat-format");
    settings.answer.format = reward::answer_format_from_name(options.answer_extraction);
    settings.equivalence =
        options.equivalence == "exact" ? rl::exact_equivalence() : rl::math_equivalence();
    settings.max_new_tokens = options.max_new_tokens;
    settings.samples = options.samples;
    settings.sampling.temperature = options.temperature;
    settings.sampling.top_p = options.top_p;
  }
  settings.greedy = !options.no_greedy;
  settings.seed = options.seed;
  settings.prompts_per_batch = options.batch_size;
  return settings;
}

// MC1/MC2 of the policy on TruthfulQA: D/truthfulqa.jsonl, and the summary keys.
empo::io::Json run_truthfulqa(const EvalOptions& options,
                              const std::vector<empo::data::TruthfulQaItem>& items,
                              const empo::generate::Policy& policy) {
  using namespace empo;
  std::cerr << "evaluating TruthfulQA MC1/MC2 (" << items.size() << " questions)\n";
  log::ProgressMeter progress("truthfulqa question", static_cast<long>(items.size()));
  auto results = eval::evaluate_truthfulqa_mc(
      items, policy.tokenizer,
      [&](const std::vector<std::vector<int64_t>>& sequences) {
        return model::sequence_logprobs(policy.model, sequences, options.batch_size);
      },
      [&](size_t done, size_t) { progress.update(static_cast<long>(done)); });
  progress.finish();
  if (!options.output_dir.empty()) {
    io::JsonlWriter writer(options.output_dir + "/truthfulqa.jsonl");
    for (size_t i = 0; i < results.size(); ++i) writer.write(eval::to_json(results[i], items[i]));
    writer.commit();
  }
  auto summary = eval::truthfulqa_summary(results);
  std::printf("TruthfulQA (%zu questions): MC1 %.1f%%, MC2 %.1f%%\n", results.size(),
              100 * summary["truthfulqa/mc1"].get<double>(),
              100 * summary["truthfulqa/mc2"].get<double>());
  return summary;
}

void run_eval(const EvalOptions& options) {
  using namespace empo;
  if (options.data.empty() && options.truthfulqa.empty())
    throw InputError("empo eval: give --data BENCHMARK.jsonl and/or --truthfulqa TruthfulQA.csv");
  model::init_runtime();
  auto settings = settings_from(options);
  std::vector<eval::Benchmark> benchmarks;
  for (const auto& path : options.data) benchmarks.push_back(eval::load_benchmark(path));
  std::vector<data::TruthfulQaItem> truthfulqa;  // read before the model: bad input fails fast
  if (!options.truthfulqa.empty()) {
    truthfulqa = data::read_truthfulqa(options.truthfulqa);
    if (options.limit > 0 && static_cast<size_t>(options.limit) < truthfulqa.size())
      truthfulqa.resize(static_cast<size_t>(options.limit));
  }
  auto device = model::parse_device(options.device);
  model::LoadOptions load{
      model::compute_dtype(options.dtype, device), device,
      model::parse_attn_implementation(options.attn_implementation, "--attn-implementation")};
  auto policy = generate::load_policy(options.model, load);
  if (!options.adapter.empty())
    policy.model.lora = model::load_lora_adapter(options.adapter, policy.model, load);
  std::vector<eval::BenchmarkRecords> records;
  if (!options.output_dir.empty()) std::filesystem::create_directories(options.output_dir);
  for (const auto& benchmark : benchmarks) {
    std::cerr << "evaluating " << benchmark.name << " (" << benchmark.questions.size()
              << " questions)\n";
    std::unique_ptr<log::ProgressMeter> progress;  // one per pass (greedy, sampled)
    settings.on_progress = [&](const std::string& pass, size_t done, size_t total) {
      if (done == 0) {
        if (progress) progress->finish();
        progress = std::make_unique<log::ProgressMeter>(benchmark.name + " " + pass + " question",
                                                        static_cast<long>(total));
      }
      progress->update(static_cast<long>(done));
    };
    auto results = rl::evaluate_questions(policy, benchmark.questions, settings);
    if (progress) progress->finish();
    records.push_back(eval::to_records(benchmark.name, results));
    if (!options.output_dir.empty())
      eval::write_question_records(options.output_dir + "/" + benchmark.name + ".records.jsonl",
                                   benchmark, results);
  }
  io::Json summary_json = io::Json::object();
  if (!benchmarks.empty()) {
    auto summary = eval::summarize(records);
    std::cout << eval::format_summary_table(summary);
    summary_json = eval::to_json(summary);
  }
  if (!options.truthfulqa.empty()) summary_json.update(run_truthfulqa(options, truthfulqa, policy));
  if (!options.output_dir.empty())
    io::write_file_atomic(options.output_dir + "/summary.json", summary_json.dump(2) + "\n");
}

void add_eval(CLI::App& app) {
  auto options = std::make_shared<EvalOptions>();
  auto* command = app.add_subcommand(
      "eval",
      "Greedy pass@1, avg@k and maj@k on benchmark JSONL files (verl or problem/answer); "
      "TruthfulQA MC1/MC2");
  command->add_option("--model", options->model, "Hugging Face model folder")->required();
  command->add_option("--data", options->data, "benchmark JSONL (repeatable)");
  command->add_option("--truthfulqa", options->truthfulqa,
                      "TruthfulQA CSV: MC1/MC2 from answer log-probs (truthfulqa.jsonl)");
  command->add_option("--limit", options->limit, "only the first N TruthfulQA questions")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--adapter", options->adapter,
                      "a LoRA adapter folder (PEFT format) applied on top of --model, unmerged");
  command->add_option("--output-dir", options->output_dir, "per-question records + summary.json");
  command->add_option(
      "--config", options->config,
      "take prompts, answer extraction, equivalence and sampling from a train config");
  command
      ->add_option("--samples", options->samples,
                   "k sampled completions per question (avg@k, maj@k)")
      ->check(CLI::NonNegativeNumber);
  command->add_flag("--no-greedy", options->no_greedy, "skip the greedy pass");
  command->add_option("--max-new-tokens", options->max_new_tokens)->check(CLI::PositiveNumber);
  command->add_option("--temperature", options->temperature)->check(CLI::NonNegativeNumber);
  command->add_option("--top-p", options->top_p)->check(CLI::Range(0.0, 1.0));
  command->add_option("--seed", options->seed);
  command->add_option("--batch-size", options->batch_size)->check(CLI::PositiveNumber);
  command->add_option("--system-prompt", options->system_prompt);
  command->add_option("--question-template", options->question_template);
  command->add_option("--chat-format", options->chat_format, "chatml | raw | auto");
  command->add_option("--answer-extraction", options->answer_extraction, "boxed | hash_dollar");
  command->add_option("--equivalence", options->equivalence, "math | exact")
      ->check(CLI::IsMember({"math", "exact"}));
  command->add_option("--device", options->device, "cpu | cuda[:N] | auto");
  command->add_option("--dtype", options->dtype, "float32 | bfloat16 | auto");
  command->add_option("--attn-implementation", options->attn_implementation,
                      "sdpa | eager | auto (sdpa where libtorch has fused kernels)");
  command->callback([options] { run_eval(*options); });
}

EMPO_COMMAND(add_eval);

}  // namespace
