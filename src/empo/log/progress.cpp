#include "empo/log/progress.h"

#include <unistd.h>

#include <cmath>

namespace empo::log {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long total = std::lround(seconds);
  char text[32];
  if (total < 60)
    std::snprintf(text, sizeof text, "%lds", total);
  else if (total < 3600)
    std::snprintf(text, sizeof text, "%ldm%02lds", total / 60, total % 60);
  else
    std::snprintf(text, sizeof text, "%ldh%02ldm", total / 3600, (total % 3600) / 60);
  return text;
}

std::string format_number(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string format_progress(const ProgressLine& line) {
  std::string text = line.unit + " " + std::to_string(line.done);
  if (line.total > 0) text += "/" + std::to_string(line.total);
  for (const auto& [name, value] : line.fields) text += "  " + name + " " + value;
  if (line.total > 0 && line.done > line.start) {
    const double left = line.elapsed_seconds / (line.done - line.start) * (line.total - line.done);
    text += "  ETA " + format_duration(left);
  }
  return text;
}

std::vector<std::pair<std::string, std::string>> training_fields(const io::Json& metrics) {
  auto value = [&](const char* key) { return metrics.value(key, 0.0); };
  std::vector<std::pair<std::string, std::string>> fields = {
      {"reward", format_number(value("reward"), 3)},
      {"H", format_number(value("empo/semantic_entropy"), 3)},
      {"clusters", format_number(value("empo/num_clusters"), 2)},
      {"len", format_number(value("completions/mean_length"), 1)},
      {"tok/s", format_number(value("tokens_per_second"), 0)}};
  if (metrics.contains("monitor/accuracy"))
    fields.push_back({"acc", format_number(value("monitor/accuracy"), 3)});
  if (value("guard/strikes") > 0)
    fields.push_back({"guard strikes", format_number(value("guard/strikes"), 0)});
  return fields;
}

ProgressMeter::ProgressMeter(std::string unit, long total, long start, bool live)
    : printer_(live),
      unit_(std::move(unit)),
      total_(total),
      start_(start),
      started_(std::chrono::steady_clock::now()) {}

void ProgressMeter::update(long done, std::vector<std::pair<std::string, std::string>> fields) {
  ProgressLine line;
  line.unit = unit_;
  line.done = done;
  line.total = total_;
  line.start = start_;
  line.elapsed_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  line.fields = std::move(fields);
  printer_.print(format_progress(line));
}

bool ProgressPrinter::stderr_is_terminal() {
  return isatty(STDERR_FILENO) != 0;
}

void ProgressPrinter::print(const std::string& text) {
  if (live_) {
    std::fprintf(out_, "\r%s\033[K", text.c_str());
    line_open_ = true;
  } else {
    std::fprintf(out_, "%s\n", text.c_str());
  }
  std::fflush(out_);
}

void ProgressPrinter::finish() {
  if (!line_open_) return;
  std::fputc('\n', out_);
  std::fflush(out_);
  line_open_ = false;
}

}  // namespace empo::log
