#pragma once
// `empo train`: fully unsupervised RL on a file of questions (EMPO.md "One training step").
// Per rollout batch: prompts -> G samples each (the engine) -> answers -> semantic clusters ->
// rewards -> entropy band / zero-std accounting -> advantages -> clipped policy loss over
// micro-batches -> AdamW. Checkpoints are Hugging Face folders plus the trainer state, written
// atomically, and a resumed run continues bit for bit.
#include <functional>
#include <string>
#include <vector>

#include "empo/generate/policy.h"
#include "empo/io/jsonl.h"
#include "empo/rl/config.h"

namespace empo::rl {

struct TrainHooks {
  // After every optimizer step, with the metrics line just written.
  std::function<void(long step, const io::Json& metrics)> on_step;
  // After every rollout batch's updates: the policy as it stands (evaluation, plots).
  std::function<void(long step, const generate::Policy& policy)> on_rollout_end;
  bool quiet = false;  // no progress lines on stderr
};

struct TrainResult {
  long steps = 0;                 // optimizer steps taken in total
  bool stopped_by_guard = false;  // the collapse guard's stop rule fired
  // SIGINT/SIGTERM (io::StopRequest): the current step was finished and checkpointed.
  bool stopped_by_signal = false;
  std::string last_checkpoint;  // RUN_DIR/checkpoint-<step>
};

// A fresh run in config.output_dir.
TrainResult train(const TrainConfig& config, const TrainHooks& hooks = {});

// Continues the latest checkpoint in run_dir; `overrides` ("key=value") apply on top of the
// run's saved config.yaml (e.g. a larger max_steps).
TrainResult resume(const std::string& run_dir, const std::vector<std::string>& overrides,
                   const TrainHooks& hooks = {});

// The collapse guard's stop rule (needs no labels): a rollout whose mean normalised semantic
// entropy is below guard_entropy_floor while its mean reward is above guard_reward_ceiling
// adds a strike, any other resets the count; training stops at guard_patience strikes.
int guard_strikes_after(int strikes, double normalized_entropy, double mean_reward,
                        const TrainConfig& config);

// The newest RUN_DIR/checkpoint-<N> with a complete trainer state, or "" when none.
std::string latest_checkpoint(const std::string& run_dir);

}  // namespace empo::rl
