// `empo eval`: greedy pass@1, avg@k and maj@k of a model on benchmark files; TruthfulQA's
// MC1/MC2 with --truthfulqa, and with --judge the judged truthfulness of the greedy answer.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "command.h"
#include "empo/eval/benchmark.h"
#include "empo/eval/metrics.h"
#include "empo/eval/truthfulqa.h"
#include "empo/generate/judge_scorer.h"
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
  // Which TruthfulQA questions: "" takes --config's truthfulqa_split (test_time without one).
  std::string truthfulqa_split;
  std::string judge;  // a judge model folder: judged truthfulness of the greedy answer
  std::string judge_mode, judge_prompt;  // "": --config's judge_direction/judge_prompt, else
                                         // one_way and general_verifier
  // Given on the command line (else TruthfulQA's greedy answers use its own prompt).
  bool prompt_given = false, extraction_given = false;
  std::string output_dir;
  std::string config;  // take prompt/extraction/equivalence from a training config
  int64_t samples = 0;
  int64_t max_new_tokens = 3000;
  int64_t batch_size = 16;
  bool cuda_graphs = false;
  double memory_fraction = 0;  // 0: --config's rollout_memory_fraction, else its default
  double temperature = 1.0, top_p = 1.0;
  uint64_t seed = 0;
  std::string system_prompt = empo::data::kAuthorsSystemPrompt;
  std::string question_template = empo::data::kAuthorsQuestionTemplate;
  std::string chat_format = "auto";
  std::string chat_template;         // name or Jinja file; "": the model's (or --config's)
  std::string chat_template_kwargs;  // a JSON object of extra template variables
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
    if (!options.chat_template.empty() && options.chat_format != "auto")
      throw InputError("--chat-template is a template of its own: leave --chat-format at auto");
    settings.answer.format = reward::answer_format_from_name(options.answer_extraction);
    settings.equivalence =
        options.equivalence == "exact" ? rl::exact_equivalence() : rl::math_equivalence();
    settings.max_new_tokens = options.max_new_tokens;
    settings.samples = options.samples;
    settings.sampling.temperature = options.temperature;
    settings.sampling.top_p = options.top_p;
  }
  if (!options.chat_template_kwargs.empty())
    settings.prompt.chat_template_kwargs = generate::parse_chat_template_kwargs(
        options.chat_template_kwargs, "--chat-template-kwargs");
  settings.greedy = !options.no_greedy;
  settings.seed = options.seed;
  settings.prompts_per_batch = options.batch_size;
  settings.cuda_graphs = settings.cuda_graphs || options.cuda_graphs;
  if (options.memory_fraction > 0) settings.memory_fraction = options.memory_fraction;
  return settings;
}

// The split of the TruthfulQA questions `empo eval` evaluates: the same half as a training
// config's (so a held_out run is evaluated on the questions it never saw).
empo::data::TruthfulQaSplit truthfulqa_split(const EvalOptions& options) {
  using namespace empo;
  if (!options.truthfulqa_split.empty())
    return data::truthfulqa_split_from_name(options.truthfulqa_split);
  if (!options.config.empty()) return rl::load_config(options.config).truthfulqa_split;
  return data::TruthfulQaSplit::test_time;
}

// The greedy answers to TruthfulQA: a training config's prompt and answer extraction, else the
// recipe's TruthfulQA prompt and the whole completion (unless given on the command line).
empo::rl::EvalSettings truthfulqa_answer_settings(const EvalOptions& options,
                                                  empo::rl::EvalSettings settings) {
  using namespace empo;
  settings.samples = 0;
  settings.greedy = true;
  settings.on_progress = nullptr;
  if (options.config.empty()) {
    if (!options.prompt_given) {
      settings.prompt.system_prompt = "";
      settings.prompt.question_template = data::kTruthfulQaQuestionTemplate;
    }
    if (!options.extraction_given) {
      settings.answer = reward::AnswerConfig{};
      settings.answer.format = reward::AnswerFormat::full;
    }
  }
  return settings;
}

// The judge of --judge, its prompt and direction: flags, else a training config's, else
// general_verifier one way (the authors' use of the verifier, the reference answer as {a}).
struct EvalJudge {
  std::unique_ptr<empo::generate::Policy> policy;
  empo::reward::YesNoBatchScorer scorer;
  empo::reward::JudgeConfig config;
};

EvalJudge load_eval_judge(const EvalOptions& options, const empo::model::LoadOptions& load) {
  using namespace empo;
  std::string prompt_name = "general_verifier", mode_name = "one_way";
  if (!options.config.empty()) {
    auto config = rl::load_config(options.config);
    prompt_name = config.judge_prompt;
    mode_name = rl::to_string(config.judge_direction);
  }
  if (!options.judge_prompt.empty()) prompt_name = options.judge_prompt;
  if (!options.judge_mode.empty()) mode_name = options.judge_mode;
  EvalJudge judge;
  const auto prompt = reward::judge_prompt_from_name(prompt_name);
  judge.config.prompt_template = prompt.text;
  judge.config.mode = reward::judge_mode_from_name(mode_name);
  judge.policy = std::make_unique<generate::Policy>(generate::load_policy(options.judge, load));
  judge.scorer = generate::judge_batch_scorer(*judge.policy, prompt.chat_turn,
                                              std::max<int64_t>(1, options.batch_size));
  return judge;
}

// MC1/MC2 of the policy on TruthfulQA (and with a judge the truthfulness of its greedy
// answers): D/truthfulqa.jsonl, and the summary keys.
empo::io::Json run_truthfulqa(const EvalOptions& options,
                              const std::vector<empo::data::TruthfulQaItem>& items,
                              const empo::generate::Policy& policy,
                              const empo::rl::EvalSettings& settings, EvalJudge* judge) {
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
  std::vector<eval::JudgedAnswer> judged;
  if (judge) {
    std::cerr << "judging the greedy answers to TruthfulQA (" << items.size() << " questions)\n";
    auto answer_settings = truthfulqa_answer_settings(options, settings);
    log::ProgressMeter answered("truthfulqa answer", static_cast<long>(items.size()));
    answer_settings.on_progress = [&](const std::string&, size_t done, size_t) {
      answered.update(static_cast<long>(done));
    };
    std::vector<std::string> answers;
    for (const auto& result :
         rl::evaluate_questions(policy, data::truthfulqa_questions(items), answer_settings))
      answers.push_back(result.greedy->answer);
    answered.finish();
    judged = eval::judge_truthfulness(items, answers, judge->scorer, judge->config);
  }
  const auto* verdicts = judge ? &judged : nullptr;
  if (!options.output_dir.empty()) {
    io::JsonlWriter writer(options.output_dir + "/truthfulqa.jsonl");
    for (size_t i = 0; i < results.size(); ++i)
      writer.write(eval::to_json(results[i], items[i], judge ? &judged[i] : nullptr));
    writer.commit();
  }
  auto summary = eval::truthfulqa_summary(results, verdicts);
  std::printf("TruthfulQA (%zu questions): MC1 %.1f%%, MC2 %.1f%%", results.size(),
              100 * summary["truthfulqa/mc1"].get<double>(),
              100 * summary["truthfulqa/mc2"].get<double>());
  if (judge)
    std::printf(", judged truthful %.1f%%",
                100 * summary["truthfulqa/judge_truthful"].get<double>());
  std::printf("\n");
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
  if (!options.judge.empty() && options.truthfulqa.empty())
    throw InputError("empo eval: --judge judges TruthfulQA answers: give --truthfulqa too");
  if (!options.truthfulqa.empty()) {
    truthfulqa = data::truthfulqa_part(data::read_truthfulqa(options.truthfulqa),
                                       truthfulqa_split(options), data::SplitPart::eval);
    if (options.limit > 0 && static_cast<size_t>(options.limit) < truthfulqa.size())
      truthfulqa.resize(static_cast<size_t>(options.limit));
  }
  auto device = model::parse_device(options.device);
  model::LoadOptions load{
      model::compute_dtype(options.dtype, device), device,
      model::parse_attn_implementation(options.attn_implementation, "--attn-implementation")};
  const std::string chat_template = !options.chat_template.empty() || options.config.empty()
                                        ? options.chat_template
                                        : rl::load_config(options.config).chat_template;
  auto policy = generate::load_policy(options.model, load, chat_template);
  if (!options.adapter.empty())
    policy.model.lora = model::load_lora_adapter(options.adapter, policy.model, load);
  generate::DecodeSession decode_session;  // --cuda-graphs: captured once for every benchmark
  settings.session = &decode_session;
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
  if (!options.truthfulqa.empty()) {
    EvalJudge judge;
    if (!options.judge.empty()) judge = load_eval_judge(options, load);
    summary_json.update(run_truthfulqa(options, truthfulqa, policy, settings,
                                       options.judge.empty() ? nullptr : &judge));
  }
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
  command
      ->add_option("--limit", options->limit,
                   "only the first N TruthfulQA questions (of the split)")
      ->check(CLI::NonNegativeNumber);
  command
      ->add_option("--truthfulqa-split", options->truthfulqa_split,
                   "held_out (the odd-position half training does not see) | test_time (all); "
                   "default: --config's truthfulqa_split, else test_time")
      ->check(CLI::IsMember({"held_out", "test_time"}));
  command->add_option("--judge", options->judge,
                      "judge model folder: judged truthfulness of the greedy TruthfulQA answer");
  command
      ->add_option("--judge-mode", options->judge_mode,
                   "one_way | bidirectional (default: --config's judge_direction, else one_way)")
      ->check(CLI::IsMember({"bidirectional", "one_way"}));
  command->add_option("--judge-prompt", options->judge_prompt,
                      "general_verifier | entailment | a template FILE ({question} {a} {b}); "
                      "default: --config's judge_prompt, else general_verifier");
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
  command->add_flag("--cuda-graphs", options->cuda_graphs,
                    "replay each decode step as a CUDA graph (not yet checked on a GPU)");
  command->add_option("--max-new-tokens", options->max_new_tokens)->check(CLI::PositiveNumber);
  command->add_option("--temperature", options->temperature)->check(CLI::NonNegativeNumber);
  command->add_option("--top-p", options->top_p)->check(CLI::Range(0.0, 1.0));
  command->add_option("--seed", options->seed);
  command->add_option("--batch-size", options->batch_size)->check(CLI::PositiveNumber);
  command
      ->add_option("--memory-fraction", options->memory_fraction,
                   "share of the free device memory the KV cache may fill (default: --config's "
                   "rollout_memory_fraction, else 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  command->add_option("--system-prompt", options->system_prompt);
  command->add_option("--question-template", options->question_template);
  command->add_option("--chat-format", options->chat_format, "chatml | raw | auto");
  command->add_option("--chat-template", options->chat_template,
                      "a Jinja chat template file, or the name of one of the model's templates");
  command->add_option(
      "--chat-template-kwargs", options->chat_template_kwargs,
      "extra template variables as a JSON object, e.g. '{\"enable_thinking\": false}'");
  command->add_option("--answer-extraction", options->answer_extraction,
                      "boxed | hash_dollar | full");
  command->add_option("--equivalence", options->equivalence, "math | exact")
      ->check(CLI::IsMember({"math", "exact"}));
  command->add_option("--device", options->device, "cpu | cuda[:N] | auto");
  command->add_option("--dtype", options->dtype, "float32 | bfloat16 | auto");
  command->add_option("--attn-implementation", options->attn_implementation,
                      "sdpa | eager | auto (sdpa where libtorch has fused kernels)");
  command->callback([options, command] {
    options->prompt_given =
        command->count("--system-prompt") + command->count("--question-template") > 0;
    options->extraction_given = command->count("--answer-extraction") > 0;
    run_eval(*options);
  });
}

EMPO_COMMAND(add_eval);

}  // namespace
