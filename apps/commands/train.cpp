// `empo train`: unsupervised RL from a YAML config (plus key=value overrides), or --resume.
#include <iostream>

#include "command.h"
#include "empo/io/error.h"
#include "empo/rl/trainer.h"

namespace {

struct TrainOptions {
  std::string config;
  std::string resume;
  std::vector<std::string> overrides;
};

void run_train(const TrainOptions& options) {
  using namespace empo;
  if (options.config.empty() == options.resume.empty())
    throw InputError("train: give exactly one of --config FILE or --resume RUN_DIR");
  auto result = options.resume.empty()
                    ? rl::train(rl::load_config(options.config, options.overrides))
                    : rl::resume(options.resume, options.overrides);
  std::cout << "trained " << result.steps << " steps"
            << (result.stopped_by_guard ? " (stopped by the collapse guard)" : "")
            << "; last checkpoint: " << result.last_checkpoint << "\n";
}

void add_train(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  auto* command = app.add_subcommand(
      "train", "EMPO (or a peer reward) on a file of unlabeled questions; key=value overrides");
  command->add_option("--config", options->config, "YAML config (see configs/)");
  command->add_option("--resume", options->resume, "continue the latest checkpoint of RUN_DIR");
  command->add_option("overrides", options->overrides, "key=value config overrides");
  command->callback([options] { run_train(*options); });
}

EMPO_COMMAND(add_train);

}  // namespace
