#pragma once
// RUN_DIR/completions.jsonl: the sampled completions of a few questions per logged step, so
// a person can read what the policy writes and how its answers cluster (TRL's
// log_completions). One line per question:
//   {"step", "question", "completions": [G], "answers": [G], "cluster_ids": [G],
//    "rewards": [G], "advantages": [G], and only when the data has one, "label": [...]
//    and "correct": [G] (each answer matched against the label: monitoring only)}
// Plain data in, JSON lines out: the trainer fills a QuestionCompletions per question.
#include <string>
#include <vector>

#include "empo/io/jsonl.h"
#include "empo/log/metrics_log.h"

namespace empo::log {

struct QuestionCompletions {
  long step = 0;
  std::string question;
  std::vector<std::string> completions;  // G decoded completions
  std::vector<std::string> answers;      // extracted final answers, "" when none
  std::vector<int> cluster_ids;          // semantic cluster of each answer
  std::vector<double> rewards;
  std::vector<double> advantages;  // 0 for a question the filters kept out of the update
  std::vector<std::string> label;  // golden answers, monitoring only; empty: unlabeled
  std::vector<bool> correct;       // each answer against the label; empty: unlabeled
};

io::Json to_json(const QuestionCompletions& entry);
// InputError naming `origin` (file:line) when a field is missing or the lengths differ.
QuestionCompletions completions_from_json(const io::Json& line, const std::string& origin);

class CompletionsLog {
 public:
  explicit CompletionsLog(std::string path) : lines_(std::move(path)) {}
  // Appends one line, flushed; InputError when the G-long vectors differ in length or the
  // file cannot be written.
  void write(const QuestionCompletions& entry) const;
  // A resumed run drops the lines after its checkpoint (see MetricsLog::keep_through).
  void keep_through(long step) const { lines_.keep_through(step); }
  void remove() const { lines_.remove(); }
  const std::string& path() const { return lines_.path(); }

 private:
  MetricsLog lines_;  // the same JSONL-with-steps file handling as metrics.jsonl
};

// The complete lines of a JSONL file that a running process may still be appending to: a
// last line without its newline is skipped, not an error. No file: no lines.
std::vector<io::Json> read_complete_jsonl(const std::string& path);

}  // namespace empo::log
