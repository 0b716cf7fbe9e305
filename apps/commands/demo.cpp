// `empo demo`: the embedded default (EMPO on the committed small model, before/after table).
#include "empo/rl/demo.h"
#include "command.h"

namespace {

void add_demo(CLI::App& app) {
  auto options = std::make_shared<empo::rl::DemoOptions>();
  auto* command = app.add_subcommand(
      "demo",
      "EMPO improves a small reasoning model without labels: before/after on held-out questions");
  command->add_option("--output-dir", options->output_dir, "run folder (results.json, metrics)");
  command->add_option("--reward", options->reward,
                      "empo (default) | supervised (GRPO baseline) | ttrl | ...");
  command->add_option("--steps", options->steps, "training steps (default: configs/demo.yaml)");
  command->add_option("--seed", options->seed, "training seed");
  command->add_option("--eval-questions", options->eval_questions, "held-out questions")
      ->check(CLI::PositiveNumber);
  command->add_option("--eval-every", options->eval_every,
                      "accuracy curve every N steps (curve.jsonl)");
  command->add_option("--curve-questions", options->curve_questions, "questions per curve point")
      ->check(CLI::PositiveNumber);
  command->add_option("--model", options->model, "start from another model folder");
  command->add_option("overrides", options->overrides, "key=value overrides of configs/demo.yaml");
  command->callback([options] { empo::rl::run_demo(*options); });
}

EMPO_COMMAND(add_demo);

}  // namespace
