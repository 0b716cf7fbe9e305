#include "empo/data/truthfulqa.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "empo/io/csv.h"
#include "empo/io/error.h"
#include "empo/reward/answer.h"

namespace empo::data {
namespace {

enum Column { kType, kCategory, kQuestion, kBestAnswer, kCorrect, kIncorrect, kSource };

// Column name -> field index in the file, from the header record.
std::vector<size_t> column_indices(const io::CsvRecord& header, const std::string& path) {
  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < header.fields.size(); ++i) index_of[reward::trim(header.fields[i])] = i;
  std::vector<size_t> indices;
  for (const auto& name : truthfulqa_columns()) {
    auto found = index_of.find(name);
    if (found == index_of.end()) {
      std::string have;
      for (const auto& field : header.fields) have += (have.empty() ? "" : ", ") + field;
      throw_input_error(path, header.line,
                        "missing column \"" + name + "\" (the header has: " + have + ")");
    }
    indices.push_back(found->second);
  }
  return indices;
}

TruthfulQaItem parse_item(const io::CsvRecord& record, const std::vector<size_t>& columns,
                          size_t header_width, const std::string& path) {
  if (record.fields.size() != header_width)
    throw_input_error(path, record.line,
                      "expected " + std::to_string(header_width) +
                          " fields as in the header, got " + std::to_string(record.fields.size()));
  auto field = [&](Column column) { return reward::trim(record.fields[columns[column]]); };
  TruthfulQaItem item;
  item.line = record.line;
  item.id = std::filesystem::path(path).stem().string() + ":" + std::to_string(record.line);
  item.type = field(kType);
  item.category = field(kCategory);
  item.question = field(kQuestion);
  item.best_answer = field(kBestAnswer);
  item.source = field(kSource);
  item.correct_answers = split_answers(field(kCorrect));
  item.incorrect_answers = split_answers(field(kIncorrect));
  auto require = [&](bool present, Column column) {
    if (!present)
      throw_input_error(path, record.line,
                        "column \"" + truthfulqa_columns()[column] + "\" is empty");
  };
  require(!item.question.empty(), kQuestion);
  require(!item.best_answer.empty(), kBestAnswer);
  require(!item.correct_answers.empty(), kCorrect);
  require(!item.incorrect_answers.empty(), kIncorrect);
  return item;
}

}  // namespace

const std::vector<std::string>& truthfulqa_columns() {
  static const std::vector<std::string> columns = {
      "Type",  "Category", "Question", "Best Answer", "Correct Answers", "Incorrect Answers",
      "Source"};
  return columns;
}

std::vector<std::string> split_answers(const std::string& list) {
  std::vector<std::string> answers;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find("; ", start);
    if (end == std::string::npos) end = list.size();
    std::string answer = reward::trim(list.substr(start, end - start));
    // A list that ends in ";" (no space after it) leaves the semicolon on the last part.
    if (!answer.empty() && answer.back() == ';')
      answer = reward::trim(answer.substr(0, answer.size() - 1));
    if (!answer.empty()) answers.push_back(answer);
    start = end + 2;
  }
  return answers;
}

std::vector<TruthfulQaItem> read_truthfulqa(const std::string& path,
                                            std::vector<SkippedLine>* skipped) {
  const auto records = io::read_csv(path);
  if (records.empty()) throw_input_error(path, 0, "empty file (expected a header record)");
  const auto columns = column_indices(records[0], path);
  std::vector<TruthfulQaItem> items;
  for (size_t r = 1; r < records.size(); ++r) {
    try {
      items.push_back(parse_item(records[r], columns, records[0].fields.size(), path));
      items.back().index = static_cast<long>(r) - 1;
    } catch (const InputError& error) {
      if (!skipped) throw;
      skipped->push_back({records[r].line, error.what()});
    }
  }
  if (items.empty()) throw_input_error(path, 0, "no questions in the file");
  return items;
}

std::vector<Question> truthfulqa_questions(const std::vector<TruthfulQaItem>& items) {
  std::vector<Question> questions;
  questions.reserve(items.size());
  for (const auto& item : items) {
    Question question;
    question.id = item.id;
    question.text = item.question;
    question.line = item.line;
    questions.push_back(std::move(question));
  }
  return questions;
}

TruthfulQaSplit truthfulqa_split_from_name(const std::string& name) {
  if (name == "held_out") return TruthfulQaSplit::held_out;
  if (name == "test_time") return TruthfulQaSplit::test_time;
  throw InputError("truthfulqa split \"" + name + "\": expected held_out or test_time");
}

std::vector<TruthfulQaItem> truthfulqa_part(const std::vector<TruthfulQaItem>& items,
                                            TruthfulQaSplit split, SplitPart part) {
  if (split == TruthfulQaSplit::test_time) return items;
  const long wanted_parity = part == SplitPart::train ? 0 : 1;
  std::vector<TruthfulQaItem> chosen;
  for (const auto& item : items)
    if (item.index % 2 == wanted_parity) chosen.push_back(item);
  return chosen;
}

std::vector<Question> read_train_questions(const std::string& path, TruthfulQaSplit split,
                                           std::vector<SkippedLine>* skipped) {
  if (!is_csv_path(path)) return read_questions(path, skipped);
  auto items = truthfulqa_part(read_truthfulqa(path, skipped), split, SplitPart::train);
  if (items.empty())
    throw InputError(path + ": no questions in the training half of truthfulqa_split held_out");
  return truthfulqa_questions(items);
}

bool is_csv_path(const std::string& path) {
  std::string extension = std::filesystem::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".csv";
}

}  // namespace empo::data
