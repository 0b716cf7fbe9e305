// `empo cluster`: semantic clusters of a question's answers and their entropy.
//   {"answers": ["...", ...]} per line
//     -> {"cluster_ids": [...], "cluster_sizes": [...], "entropy": H}
// Cluster ids count from 0 in order of first occurrence; H uses the natural log. A line
// without the field, or with a value of the wrong type, stops the run with exit code 2 and
// "file:line: reason"; the output file is then left untouched.
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "empo/generate/judge_scorer.h"
#include "empo/generate/policy.h"
#include "empo/io/error.h"
#include "empo/io/jsonl.h"
#include "empo/model/runtime.h"
#include "empo/reward/cluster.h"
#include "empo/reward/judge.h"
#include "empo/reward/judge_clustering.h"
#include "options.h"

namespace {

using empo::io::Json;

struct Options {
  std::string input;
  std::string output;
  empo::reward::EquivalenceConfig equivalence;
  std::string judge_model;  // free-form answers: an LLM judge instead of math equivalence
  std::string judge_mode = "bidirectional";
  std::string judge_prompt = "entailment";
};

std::vector<std::string> answers_field(const Json& line, const std::string& path, long number) {
  const Json& list = empo::io::require_field(line, "answers", path, number);
  if (!list.is_array()) {
    empo::throw_input_error(path, number, "field \"answers\" must be a list of strings");
  }
  std::vector<std::string> answers;
  for (const Json& answer : list) {
    if (!answer.is_string()) {
      empo::throw_input_error(path, number, "\"answers\" holds a value that is not a string");
    }
    answers.push_back(answer.get<std::string>());
  }
  return answers;
}

void cluster(const Options& options) {
  std::unique_ptr<empo::generate::Policy> judge_policy;
  empo::reward::YesNoBatchScorer judge;  // set with --judge
  empo::reward::JudgeConfig judge_config;
  if (!options.judge_model.empty()) {
    empo::model::init_runtime();
    auto device = empo::model::parse_device("auto");
    judge_policy = std::make_unique<empo::generate::Policy>(empo::generate::load_policy(
        options.judge_model, {empo::model::compute_dtype("auto", device), device}));
    const auto prompt = empo::reward::judge_prompt_from_name(options.judge_prompt);
    judge = empo::generate::judge_batch_scorer(*judge_policy, prompt.chat_turn);
    judge_config.prompt_template = prompt.text;
    judge_config.mode = empo::reward::judge_mode_from_name(options.judge_mode);
  }
  empo::io::JsonlWriter writer(options.output);
  empo::io::for_each_jsonl(options.input, [&](const Json& line, long number) {
    auto answers = answers_field(line, options.input, number);
    std::string question;
    if (line.contains("question")) {
      if (!line["question"].is_string())
        empo::throw_input_error(options.input, number, "\"question\" must be a string");
      question = line["question"].get<std::string>();
    }
    empo::reward::Clustering clustering =
        judge ? empo::reward::cluster_with_judge(question, answers, judge, judge_config)
              : empo::reward::cluster(answers, options.equivalence);
    writer.write(Json{{"cluster_ids", clustering.cluster_ids},
                      {"cluster_sizes", clustering.cluster_sizes},
                      {"entropy", clustering.entropy}});
  });
  writer.commit();
}

void add_cluster(CLI::App& app) {
  auto options = std::make_shared<Options>();
  auto* command = app.add_subcommand(
      "cluster",
      "Cluster {\"answers\": [...]} by math equivalence (or --judge) -> ids, sizes, entropy");
  command->add_option("--input", options->input, "Input JSONL file")->required();
  command->add_option("--output", options->output, "Output JSONL file (written atomically)")
      ->required();
  empo::cli::add_equivalence_options(command, options->equivalence);
  command->add_option(
      "--judge", options->judge_model,
      "LLM judge model folder for free-form answers (lines may carry \"question\")");
  command->add_option("--judge-mode", options->judge_mode, "bidirectional | one_way")
      ->check(CLI::IsMember({"bidirectional", "one_way"}));
  command->add_option("--judge-prompt", options->judge_prompt,
                      "general_verifier | entailment | a template FILE ({question} {a} {b})");
  command->callback([options] { cluster(*options); });
}

EMPO_COMMAND(add_cluster);

}  // namespace
