// `empo plan`: per-rank memory of a training config before anything is downloaded or allocated
// (the model folder needs only config.json).
#include <cmath>
#include <iostream>
#include <optional>

#include "command.h"
#include "empo/io/error.h"
#include "empo/model/config.h"
#include "empo/model/runtime.h"
#include "empo/rl/config.h"
#include "empo/rl/memory_plan.h"

namespace {

struct PlanOptions {
  std::string config;
  std::vector<std::string> overrides;
  int nproc = 1;
  double gpu_memory_gib = 0;
  bool json = false;
};

void run_plan(const PlanOptions& options) {
  using namespace empo;
  const rl::TrainConfig config = rl::load_config(options.config, options.overrides);
  const model::ModelConfig policy = model::load_model_config(config.model_name_or_path);
  std::optional<model::ModelConfig> judge;
  if (config.equivalence == rl::Equivalence::judge)
    judge = model::load_model_config(config.judge_model);
  rl::PlanTarget target;
  // A cuda device, or auto with a GPU size given, is planned as the GPU build (libtorch 2.x:
  // bf16, fused attention) whatever this machine has.
  target.gpu = config.device.rfind("cuda", 0) == 0 ||
               (config.device == "auto" && options.gpu_memory_gib > 0);
  target.fused_attention = target.gpu || model::build_info().fused_attention;
  target.nproc = options.nproc;
  target.device_memory_bytes =
      static_cast<int64_t>(std::llround(options.gpu_memory_gib * 1073741824.0));
  const rl::MemoryPlan plan = rl::plan_memory(config, policy, judge, target);
  std::cout << (options.json ? rl::plan_json(plan, target) : rl::plan_report(plan, target));
}

void add_plan(CLI::App& app) {
  auto options = std::make_shared<PlanOptions>();
  auto* command = app.add_subcommand(
      "plan", "Predict per-rank memory of a training config (allocates nothing)");
  command->add_option("--config", options->config, "YAML config (see configs/)")->required();
  command->add_option("overrides", options->overrides, "key=value config overrides");
  command->add_option("--nproc", options->nproc, "ranks the run is planned for")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command
      ->add_option("--gpu-memory", options->gpu_memory_gib,
                   "device memory per rank in GiB: says whether the run fits, and bounds the "
                   "rollout KV cache (rollout_memory_fraction of what the resident state leaves)")
      ->check(CLI::NonNegativeNumber);
  command->add_flag("--json", options->json, "print {\"per_rank_bytes\": {...}, ...}");
  command->callback([options] { run_plan(*options); });
}

EMPO_COMMAND(add_plan);

}  // namespace
