#pragma once
// TruthfulQA (Lin et al., 2021) in its published CSV layout: one question a record, columns
// Type, Category, Question, Best Answer, Correct Answers, Incorrect Answers, Source (the
// header names them; their order may differ), the answer lists separated by "; ".
// Training reads only the questions (truthfulqa_questions); `empo eval --truthfulqa` reads
// the answers too.
#include <string>
#include <vector>

#include "empo/data/prompt_source.h"

namespace empo::data {

struct TruthfulQaItem {
  std::string id;  // "<file stem>:<line>"
  long line = 0;   // where the record starts in the file
  std::string type, category, question, best_answer, source;
  std::vector<std::string> correct_answers;    // trimmed, non-empty
  std::vector<std::string> incorrect_answers;  // trimmed, non-empty
};

// The columns every TruthfulQA file must have.
const std::vector<std::string>& truthfulqa_columns();

// InputError "path:line: ..." for a missing column, a record with the wrong number of fields,
// an empty question or answer column, or a CSV error (see io/csv.h). With `skipped`, a record
// that is well-formed CSV but unusable is recorded there instead (a broken quote is always an
// error: the records after it cannot be trusted).
std::vector<TruthfulQaItem> read_truthfulqa(const std::string& path,
                                            std::vector<SkippedLine>* skipped = nullptr);

// "a; b; c " -> {"a", "b", "c"}: split at "; ", each part trimmed, empty parts dropped.
std::vector<std::string> split_answers(const std::string& list);

// The questions alone, as training reads them: no golden answers reach the trainer.
std::vector<Question> truthfulqa_questions(const std::vector<TruthfulQaItem>& items);

// Whether a question file is a CSV (by its extension, case-insensitive), read by
// read_truthfulqa instead of as JSONL.
bool is_csv_path(const std::string& path);

}  // namespace empo::data
