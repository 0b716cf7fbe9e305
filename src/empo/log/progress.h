#pragma once
// Progress of a long loop (training steps, evaluated questions) on stderr: on a terminal one
// line rewritten in place, otherwise one plain log line per update so that redirected logs
// stay greppable. The line is built by a pure function, so it is tested without a clock.
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "empo/io/jsonl.h"

namespace empo::log {

// "45s", "3m07s", "2h05m"; "?" for a negative or non-finite time.
std::string format_duration(double seconds);

struct ProgressLine {
  std::string unit = "step";  // what is counted: "step", "question", ...
  long done = 0;
  long total = 0;              // 0: unknown, no ETA
  double elapsed_seconds = 0;  // since the clock started (for the ETA)
  long start = 0;              // units done before the clock started (a resumed run)
  std::vector<std::pair<std::string, std::string>> fields;  // name, formatted value
};

// "step 3/60  reward 0.412  H 1.234  ETA 1m12s": the count, each field, and the time left
// assuming the remaining units take as long as the done ones on average.
std::string format_progress(const ProgressLine& line);

// "%.3f"-style formatting for ProgressLine fields.
std::string format_number(double value, int decimals);

// The fields of a training step's line from its metrics: reward, semantic entropy H,
// clusters per question, mean completion length, tokens/s, and accuracy when labels exist.
std::vector<std::pair<std::string, std::string>> training_fields(const io::Json& metrics);

class ProgressPrinter {
 public:
  // live: rewrite one line in place ("\r...\033[K"); otherwise print a line per update.
  explicit ProgressPrinter(bool live, std::FILE* out = stderr) : live_(live), out_(out) {}
  // Whether stderr is a terminal (the default for live).
  static bool stderr_is_terminal();
  ~ProgressPrinter() { finish(); }
  ProgressPrinter(const ProgressPrinter&) = delete;
  ProgressPrinter& operator=(const ProgressPrinter&) = delete;

  void print(const std::string& text);
  // Ends a live line with a newline (once), so later output starts on a fresh line.
  void finish();

 private:
  bool live_;
  std::FILE* out_;
  bool line_open_ = false;
};

// A ProgressPrinter with a clock: update(done) prints the line with the ETA.
class ProgressMeter {
 public:
  ProgressMeter(std::string unit, long total, long start = 0,
                bool live = ProgressPrinter::stderr_is_terminal());
  void update(long done, std::vector<std::pair<std::string, std::string>> fields = {});
  void finish() { printer_.finish(); }

 private:
  ProgressPrinter printer_;
  std::string unit_;
  long total_;
  long start_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace empo::log
