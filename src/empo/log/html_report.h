#pragma once
// `empo report RUN_DIR`: RUN_DIR/report.html, one self-contained page (inline SVG and CSS, no
// script, no network) that a person reads at a glance: the training curves with the collapse
// guard's strikes marked, evaluation before/after, and sample questions whose completions are
// coloured by semantic cluster. Reads only what a run writes, and works while it still runs
// (a half-written last line is skipped).
#include <optional>
#include <string>
#include <vector>

#include "empo/io/jsonl.h"
#include "empo/log/completions.h"

namespace empo::log {

struct RunLogs {
  std::string run_dir;
  std::vector<io::Json> metrics;                 // metrics.jsonl (training and eval/* lines)
  std::vector<QuestionCompletions> completions;  // completions.jsonl
  std::optional<io::Json> results;               // results.json (`empo demo`)
  std::vector<io::Json> curve;                   // curve.jsonl (`empo demo --eval-every`)
  std::string config_yaml;                       // config.yaml as written
};

// InputError when run_dir holds neither metrics.jsonl nor results.json, or a file is malformed.
RunLogs read_run_logs(const std::string& run_dir);

std::string render_html_report(const RunLogs& run);

// Reads the run, writes RUN_DIR/report.html atomically and returns its path.
std::string write_html_report(const std::string& run_dir);

}  // namespace empo::log
