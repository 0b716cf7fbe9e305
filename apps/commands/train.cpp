// `empo train`: unsupervised RL from a YAML config (plus key=value overrides), or --resume.
#include <cstdlib>
#include <iostream>

#include "command.h"
#include "empo/dist/launch.h"
#include "empo/io/error.h"
#include "empo/io/stop_request.h"
#include "empo/rl/trainer.h"

namespace {

struct TrainOptions {
  std::string config;
  std::string resume;
  std::vector<std::string> overrides;
  int nproc = 1;
};

// argv without --nproc (and its value), for the child processes.
std::vector<std::string> child_arguments() {
  std::vector<std::string> arguments;
  const auto& all = empo::cli::command_line();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] == "--nproc") {
      ++i;
      continue;
    }
    if (all[i].rfind("--nproc=", 0) == 0) continue;
    arguments.push_back(all[i]);
  }
  return arguments;
}

void run_train(const TrainOptions& options) {
  using namespace empo;
  if (options.config.empty() == options.resume.empty())
    throw InputError("train: give exactly one of --config FILE or --resume RUN_DIR");
  if (options.nproc > 1) {
    if (std::getenv("WORLD_SIZE"))
      throw InputError("train: --nproc inside an already launched process group");
    if (!options.config.empty())
      rl::load_config(options.config, options.overrides);  // fail early, once
    int code = dist::launch_local(options.nproc, child_arguments());
    if (code == 2) throw InputError("a training process rejected its input (message above)");
    if (code != 0)
      throw std::runtime_error("a training process failed (exit code " + std::to_string(code) +
                               ")");
    return;
  }
  // SIGINT/SIGTERM: finish the step, checkpoint, exit 0; a second signal exits at once.
  io::StopRequest::install();
  auto result = options.resume.empty()
                    ? rl::train(rl::load_config(options.config, options.overrides))
                    : rl::resume(options.resume, options.overrides);
  std::cout << "trained " << result.steps << " steps"
            << (result.stopped_by_guard ? " (stopped by the collapse guard)" : "")
            << (result.stopped_by_signal ? " (stopped by a signal; continue with --resume)" : "")
            << "; last checkpoint: " << result.last_checkpoint << "\n";
}

void add_train(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  auto* command = app.add_subcommand(
      "train", "EMPO (or a peer reward) on a file of unlabeled questions; key=value overrides");
  command->add_option("--config", options->config, "YAML config (see configs/)");
  command->add_option("--resume", options->resume, "continue the latest checkpoint of RUN_DIR");
  command->add_option("overrides", options->overrides, "key=value config overrides");
  command
      ->add_option("--nproc", options->nproc,
                   "data-parallel processes on this machine (torch c10d, Gloo); or launch ranks "
                   "yourself with RANK, WORLD_SIZE and MASTER_ADDR/MASTER_PORT")
      ->check(CLI::PositiveNumber);
  command->callback([options] { run_train(*options); });
}

EMPO_COMMAND(add_train);

}  // namespace
