#pragma once
// A short real training run of the committed demo model (configs/demo.yaml) with labelled
// questions and a benchmark evaluated at checkpoints, for tests of what a run leaves behind
// (TensorBoard events, completions.jsonl, the HTML report).
#include <string>

#include "tiny_policy.h"

namespace empo::test {

// Trains `steps` steps into dir/run and returns the `empo train` result; `extra` are more
// key=value overrides.
inline CommandResult short_demo_run(const std::string& dir, int steps,
                                    const std::string& extra = "") {
  auto train = addition_questions(dir + "/train.jsonl", 64, 1);
  auto benchmark = addition_questions(dir + "/test.jsonl", 8, 2);
  return run_empo("train --config " + source_path("configs/demo.yaml") + " model_name_or_path=" +
                  source_path("models/adder") + " train_file=" + train + " eval_files=[" +
                  benchmark + "] output_dir=" + dir + "/run max_steps=" + std::to_string(steps) +
                  " save_steps=2 per_device_train_batch_size=4 " + extra);
}

}  // namespace empo::test
