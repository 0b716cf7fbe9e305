#pragma once
// `empo report`: the results of demo runs side by side as Markdown tables (before/after per
// run, means over runs of the same kind, accuracy curves by step). Reads only what the runs
// wrote: RUN_DIR/results.json and RUN_DIR/curve.jsonl.
#include <string>
#include <vector>

#include "empo/io/jsonl.h"

namespace empo::log {

struct RunReport {
  std::string run_dir;
  io::Json results;             // results.json
  std::vector<io::Json> curve;  // curve.jsonl lines, by step
};

// InputError naming the file when results.json is missing or malformed.
RunReport read_run(const std::string& run_dir);

// | run | reward | steps | greedy before -> after | sampled ... | maj@G ... | corr(H, maj) |
std::string results_table(const std::vector<RunReport>& runs);

// Mean and spread over runs that share a reward: | reward | runs | greedy | sampled | maj |
std::string summary_table(const std::vector<RunReport>& runs);

// | step | greedy | sampled | maj@G | per run with a curve.
std::string curve_table(const RunReport& run);

}  // namespace empo::log
