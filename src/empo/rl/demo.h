#pragma once
// `empo demo`: the embedded default. EMPO on the synthetic addition task with the committed
// small model (models/adder): evaluate on held-out questions (greedy pass@1, sampled pass@1,
// maj@G), train on unlabeled questions, evaluate again, and report before/after. The same
// run with reward=supervised is the GRPO baseline.
#include <string>
#include <vector>

#include "empo/io/jsonl.h"

namespace empo::rl {

struct DemoOptions {
  std::string output_dir = "runs/demo";
  std::string reward = "empo";  // empo | supervised | ttrl | ...
  long steps = 0;               // 0: the config's max_steps
  uint64_t seed = 0;
  int eval_questions = 500;            // held-out questions evaluated before and after
  long eval_every = 0;                 // > 0: also evaluate every N steps (accuracy curve)
  int curve_questions = 200;           // questions per curve point
  std::string model;                   // empty: the config's (models/adder)
  std::vector<std::string> overrides;  // key=value on top of configs/demo.yaml
  bool quiet = false;
};

struct DemoScores {
  double greedy_pass1 = 0;
  double sampled_pass1 = 0;
  double maj_at_g = 0;
  double entropy_majority_correlation = 0;  // Pearson(H(q), majority correct), NaN-free
};

// Runs the demo and returns results.json's content (also written to RUN_DIR/results.json).
io::Json run_demo(const DemoOptions& options);

// Resolves a path of the demo config: as given when it exists, else under the source tree.
std::string demo_path(const std::string& path);

}  // namespace empo::rl
