#include "empo/log/completions.h"

#include <filesystem>

#include "empo/io/error.h"

namespace empo::log {

namespace {

void check_lengths(const QuestionCompletions& entry, const std::string& origin) {
  const size_t G = entry.completions.size();
  auto check = [&](size_t size, const char* name) {
    if (size != G)
      throw InputError(origin + ": \"" + name + "\" has " + std::to_string(size) +
                       " entries, expected one per completion (" + std::to_string(G) + ")");
  };
  check(entry.answers.size(), "answers");
  check(entry.cluster_ids.size(), "cluster_ids");
  check(entry.rewards.size(), "rewards");
  check(entry.advantages.size(), "advantages");
  if (!entry.correct.empty()) check(entry.correct.size(), "correct");
}

}  // namespace

io::Json to_json(const QuestionCompletions& entry) {
  io::Json line{{"step", entry.step},
                {"question", entry.question},
                {"completions", entry.completions},
                {"answers", entry.answers},
                {"cluster_ids", entry.cluster_ids},
                {"rewards", entry.rewards},
                {"advantages", entry.advantages}};
  if (!entry.label.empty()) line["label"] = entry.label;
  if (!entry.correct.empty()) line["correct"] = entry.correct;
  return line;
}

QuestionCompletions completions_from_json(const io::Json& line, const std::string& origin) {
  QuestionCompletions entry;
  try {
    entry.step = line.at("step").get<long>();
    entry.question = line.at("question").get<std::string>();
    entry.completions = line.at("completions").get<std::vector<std::string>>();
    entry.answers = line.at("answers").get<std::vector<std::string>>();
    entry.cluster_ids = line.at("cluster_ids").get<std::vector<int>>();
    entry.rewards = line.at("rewards").get<std::vector<double>>();
    entry.advantages = line.at("advantages").get<std::vector<double>>();
    if (line.contains("label")) entry.label = line["label"].get<std::vector<std::string>>();
    if (line.contains("correct")) entry.correct = line["correct"].get<std::vector<bool>>();
  } catch (const io::Json::exception& error) {
    throw InputError(origin + ": not a completions line: " + error.what());
  }
  check_lengths(entry, origin);
  return entry;
}

void CompletionsLog::write(const QuestionCompletions& entry) const {
  check_lengths(entry, lines_.path());
  lines_.append(to_json(entry));
}

std::vector<io::Json> read_complete_jsonl(const std::string& path) {
  std::vector<io::Json> lines;
  if (!std::filesystem::exists(path)) return lines;
  const std::string text = io::read_file(path);
  size_t start = 0;
  long number = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    ++number;
    const std::string line = text.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      lines.push_back(io::Json::parse(line));
    } catch (const io::Json::parse_error& error) {
      throw InputError(path + ":" + std::to_string(number) + ": invalid JSON: " + error.what());
    }
  }
  return lines;
}

}  // namespace empo::log
