#include "empo/log/report.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "empo/io/error.h"

namespace empo::log {

namespace {

std::string percent(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", 100.0 * value);
  return text;
}

double number(const io::Json& object, const char* key, const std::string& source) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_number())
    throw InputError(source + ": missing number \"" + key + "\"");
  return object[key].get<double>();
}

struct MeanSpread {
  double mean = 0;
  double spread = 0;  // sample standard deviation
};

MeanSpread mean_spread(const std::vector<double>& values) {
  MeanSpread result;
  for (double value : values) result.mean += value;
  result.mean /= std::max<size_t>(1, values.size());
  if (values.size() > 1) {
    for (double value : values) result.spread += (value - result.mean) * (value - result.mean);
    result.spread = std::sqrt(result.spread / (values.size() - 1));
  }
  return result;
}

}  // namespace

RunReport read_run(const std::string& run_dir) {
  RunReport run;
  run.run_dir = run_dir;
  std::string path = run_dir + "/results.json";
  run.results = io::parse_json(io::read_file(path), path);
  for (const char* phase : {"before", "after"})
    for (const char* key : {"greedy_pass1", "sampled_pass1", "maj_at_g"})
      number(run.results.value(phase, io::Json::object()), key, path + " " + phase);
  std::string curve_path = run_dir + "/curve.jsonl";
  if (std::filesystem::exists(curve_path))
    io::for_each_jsonl(curve_path, [&](const io::Json& line, long) { run.curve.push_back(line); });
  return run;
}

std::string results_table(const std::vector<RunReport>& runs) {
  std::string table =
      "| run | reward | steps | greedy pass@1 | sampled pass@1 | maj@G | corr(H, maj correct) |\n"
      "|---|---|---|---|---|---|---|\n";
  for (const auto& run : runs) {
    const auto& before = run.results["before"];
    const auto& after = run.results["after"];
    auto change = [&](const char* key) {
      return percent(before[key].get<double>()) + " -> " + percent(after[key].get<double>());
    };
    char correlation[64];
    std::snprintf(correlation, sizeof correlation, "%.2f -> %.2f",
                  before.value("entropy_majority_correlation", 0.0),
                  after.value("entropy_majority_correlation", 0.0));
    table += "| " + std::filesystem::path(run.run_dir).filename().string() + " | " +
             run.results.value("reward", std::string("?")) + " | " +
             std::to_string(run.results.value("steps", 0)) +
             (run.results.value("stopped_by_guard", false) ? " (guard stop)" : "") + " | " +
             change("greedy_pass1") + " | " + change("sampled_pass1") + " | " + change("maj_at_g") +
             " | " + correlation + " |\n";
  }
  return table;
}

std::string summary_table(const std::vector<RunReport>& runs) {
  std::map<std::string, std::vector<const RunReport*>> by_reward;
  for (const auto& run : runs)
    by_reward[run.results.value("reward", std::string("?"))].push_back(&run);
  std::string table =
      "| | runs | greedy pass@1 | sampled pass@1 | maj@G |\n|---|---|---|---|---|\n";
  auto row = [&](const std::string& label, const std::vector<const RunReport*>& group,
                 const char* phase) {
    std::string line = "| " + label + " | " + std::to_string(group.size());
    for (const char* key : {"greedy_pass1", "sampled_pass1", "maj_at_g"}) {
      std::vector<double> values;
      for (const auto* run : group) values.push_back(run->results[phase][key].get<double>());
      auto stats = mean_spread(values);
      line += " | " + percent(stats.mean) + (group.size() > 1 ? " ± " + percent(stats.spread) : "");
    }
    return line + " |\n";
  };
  if (!runs.empty()) {
    std::vector<const RunReport*> all;
    for (const auto& run : runs) all.push_back(&run);
    table += row("base (before training)", all, "before");
  }
  for (const auto& [reward, group] : by_reward) table += row(reward, group, "after");
  return table;
}

std::string curve_table(const RunReport& run) {
  std::string table = "| step | greedy pass@1 | sampled pass@1 | maj@G |\n|---|---|---|---|\n";
  for (const auto& point : run.curve)
    table += "| " + std::to_string(point.value("step", 0)) + " | " +
             percent(point.value("greedy_pass1", 0.0)) + " | " +
             percent(point.value("sampled_pass1", 0.0)) + " | " +
             percent(point.value("maj_at_g", 0.0)) + " |\n";
  return table;
}

}  // namespace empo::log
