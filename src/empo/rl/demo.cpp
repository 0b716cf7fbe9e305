#include "empo/rl/demo.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "empo/data/synthetic.h"
#include "empo/eval/benchmark.h"
#include "empo/eval/metrics.h"
#include "empo/io/error.h"
#include "empo/log/html_report.h"
#include "empo/model/runtime.h"
#include "empo/rl/demo_config.h"
#include "empo/rl/evaluate.h"
#include "empo/rl/trainer.h"

namespace empo::rl {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kTestSeed = 20250405;  // one held-out set for every demo seed
constexpr size_t kTrainQuestions = 20000;

DemoScores score(const generate::Policy& policy, const std::vector<data::Question>& questions,
                 const TrainConfig& config) {
  auto settings = eval_settings_from(config, exact_equivalence(), config.num_generations);
  settings.prompts_per_batch = 64;
  auto results = evaluate_questions(policy, questions, settings);
  auto summary = eval::score_benchmark(eval::to_records("adder", results));
  DemoScores scores;
  scores.greedy_pass1 = summary.scores.greedy_pass1.value_or(0);
  scores.sampled_pass1 = summary.scores.avg_at_k.value_or(0);
  scores.maj_at_g = summary.scores.maj_at_k.value_or(0);
  scores.entropy_majority_correlation = summary.scores.entropy_majority_correlation.value_or(0);
  return scores;
}

io::Json to_json(const DemoScores& scores) {
  return {{"greedy_pass1", scores.greedy_pass1},
          {"sampled_pass1", scores.sampled_pass1},
          {"maj_at_g", scores.maj_at_g},
          {"entropy_majority_correlation", scores.entropy_majority_correlation}};
}

std::string percent(double value) {
  char text[16];
  std::snprintf(text, sizeof text, "%5.1f%%", 100 * value);
  return text;
}

std::string correlation(double value) {
  char text[16];
  std::snprintf(text, sizeof text, "%+.2f", value);
  return text;
}

void print_table(const DemoScores& before, const DemoScores& after, const TrainConfig& config,
                 size_t questions) {
  std::cout << "\nHeld-out questions: " << questions << ", G = " << config.num_generations
            << ", reward = " << to_string(config.reward) << " (no label read"
            << (config.reward == RewardType::supervised ? " except by this supervised baseline"
                                                        : "")
            << ")\n\n"
            << "                  before     after\n"
            << "greedy pass@1    " << percent(before.greedy_pass1) << "    "
            << percent(after.greedy_pass1) << "\nsampled pass@1   " << percent(before.sampled_pass1)
            << "    " << percent(after.sampled_pass1) << "\nmaj@" << config.num_generations
            << "            " << percent(before.maj_at_g) << "    " << percent(after.maj_at_g)
            << "\n"
            << "corr(H, maj ok)  " << correlation(before.entropy_majority_correlation) << "     "
            << correlation(after.entropy_majority_correlation) << "\n";
}

std::vector<data::Question> as_questions(const std::vector<data::AdditionProblem>& problems) {
  std::vector<data::Question> questions;
  for (size_t i = 0; i < problems.size(); ++i) {
    data::Question question;
    question.id = "test:" + std::to_string(i);
    question.text = problems[i].question;
    question.answers = {std::to_string(problems[i].answer)};
    questions.push_back(question);
  }
  return questions;
}

}  // namespace

std::string demo_path(const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute() || fs::exists(path)) return path;
  auto under_source = fs::path(kSourceDir) / path;
  return fs::exists(under_source) ? under_source.string() : path;
}

io::Json run_demo(const DemoOptions& options) {
  // One thread unless $EMPO_THREADS says otherwise: the demo model is so small that a second
  // thread costs more in synchronisation than it gains, and results (reproducible for a given
  // thread count) then match the README's.
  model::init_runtime(std::getenv("EMPO_THREADS") ? 0 : 1);
  std::vector<std::string> overrides = options.overrides;
  overrides.push_back("reward=" + options.reward);
  overrides.push_back("output_dir=" + options.output_dir);
  overrides.push_back("seed=" + std::to_string(options.seed));
  overrides.push_back("overwrite_output_dir=true");  // the demo's own folder
  if (options.steps > 0) overrides.push_back("max_steps=" + std::to_string(options.steps));
  if (!options.model.empty()) overrides.push_back("model_name_or_path=" + options.model);
  auto config = parse_config(kDemoConfigYaml, "configs/demo.yaml (embedded)", overrides);
  config.model_name_or_path = demo_path(config.model_name_or_path);
  if (!fs::exists(config.model_name_or_path + "/config.json"))
    throw InputError("demo model not found: " + config.model_name_or_path +
                     " (run from the repository, or pass --model)");

  fs::create_directories(options.output_dir);
  data::AdditionTask task;
  config.train_file = options.output_dir + "/train.jsonl";
  data::write_addition_jsonl(
      config.train_file,
      data::generate_addition_split(task, data::Split::train, kTrainQuestions, options.seed));
  auto test_problems =
      data::generate_addition_split(task, data::Split::test, options.eval_questions, kTestSeed);
  data::write_addition_jsonl(options.output_dir + "/test.jsonl", test_problems);  // for empo eval
  auto test = as_questions(test_problems);
  std::vector<data::Question> curve_questions(
      test.begin(), test.begin() + std::min<size_t>(test.size(), options.curve_questions));

  auto device = model::parse_device(config.device);
  auto start = generate::load_policy(config.model_name_or_path, {at::kFloat, device});
  if (!options.quiet)
    std::cerr << "evaluating the starting model on " << test.size() << " held-out questions\n";
  DemoScores before = score(start, test, config);

  TrainHooks hooks;
  hooks.quiet = options.quiet;
  std::string curve_path = options.output_dir + "/curve.jsonl";
  std::remove(curve_path.c_str());
  auto record_curve = [&](long step, const generate::Policy& policy) {
    auto scores = score(policy, curve_questions, config);
    auto line = to_json(scores);
    line["step"] = step;
    std::FILE* file = std::fopen(curve_path.c_str(), "a");
    if (file) {
      std::string text = line.dump() + "\n";
      std::fwrite(text.data(), 1, text.size(), file);
      std::fclose(file);
    }
  };
  if (options.eval_every > 0) {
    record_curve(0, start);
    hooks.on_rollout_end = [&](long step, const generate::Policy& policy) {
      if (step % options.eval_every == 0) record_curve(step, policy);
    };
  }
  auto result = train(config, hooks);
  auto trained = generate::load_policy(result.last_checkpoint, {at::kFloat, device});
  DemoScores after = score(trained, test, config);
  print_table(before, after, config, test.size());

  io::Json results{{"before", to_json(before)},
                   {"after", to_json(after)},
                   {"reward", to_string(config.reward)},
                   {"steps", result.steps},
                   {"stopped_by_guard", result.stopped_by_guard},
                   {"seed", options.seed},
                   {"eval_questions", test.size()},
                   {"num_generations", config.num_generations},
                   {"checkpoint", result.last_checkpoint}};
  io::write_file_atomic(options.output_dir + "/results.json", results.dump(2) + "\n");
  const std::string report = log::write_html_report(options.output_dir);
  std::cout << "\nresults: " << options.output_dir
            << "/results.json, metrics: " << options.output_dir << "/metrics.jsonl\n"
            << "report: " << report << " (open it in a browser)\n";
  return results;
}

}  // namespace empo::rl
