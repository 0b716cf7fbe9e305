#pragma once
// Questions for training and evaluation, read from JSONL in the shapes the field uses, and a
// cursor that walks them in a seeded order, epoch after epoch, whose state can be saved and
// restored so that a resumed run sees exactly the questions an uninterrupted one would.
//
// Accepted record shapes (the first field present wins, in this order):
//   {"problem": "..."}                      MATH style
//   {"question": "..."}                     GSM8K style
//   {"prompt": "..."}                       TRL style: the whole user message
//   {"prompt": [{"role": "user", "content": "..."}, ...]}   verl style (../shared/data/benchmarks)
// Optional golden answer (read only by the supervised reward and for monitoring):
//   "answer" (string, number or list), else "reward_model": {"ground_truth": string|list},
//   else "solution" (kept whole: a worked solution, not a final answer; see
//   Question::answer_from_solution).
// Optional "id" (string or integer); otherwise the id is "<file stem>:<line>".
// A file ending in .csv is read as TruthfulQA (data/truthfulqa.h): its questions only.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "empo/io/jsonl.h"

namespace empo::data {

inline constexpr char kQuestionPlaceholder[] = "{question}";
// The EMPO authors' prompts (EMPO.md, "Prompts used by the authors").
inline constexpr char kAuthorsSystemPrompt[] =
    "Please reason step by step, and put your final answer within \\boxed{}.";
inline constexpr char kAuthorsQuestionTemplate[] =
    "{question} Let's think step by step and output the final answer within \\boxed{}.";

struct Question {
  std::string id;
  std::string text;
  std::vector<std::string> answers;  // golden answers; empty when the question is unlabeled
  long line = 0;                     // line in the source file (1-based)
  // answers[0] is the record's "solution": a worked solution whose final answer still has to
  // be extracted, not an answer to compare with directly.
  bool answer_from_solution = false;
  // The text came from "prompt": it is a complete user message that already carries its
  // instruction (the verl benchmarks end in "Let's think step by step ..."), so the question
  // template is not applied to it again.
  bool is_prompt = false;
  std::string system_prompt;  // a system message given inside a chat "prompt", if any
};

// One record; InputError "path:line: ..." when no question field is usable.
Question parse_question(const io::Json& record, const std::string& path, long line);

// A line of a question file that was skipped, and why ("path:line: reason").
struct SkippedLine {
  long line = 0;
  std::string message;
};

// Every question of a JSONL (or TruthfulQA CSV) file; InputError on a bad line or when the file has
// none. With `skipped`, a bad line (invalid JSON, no usable question) is recorded there instead.
std::vector<Question> read_questions(const std::string& path,
                                     std::vector<SkippedLine>* skipped = nullptr);

// Replaces every "{question}" in the template with the text; InputError when the template
// has no placeholder (the question would be silently dropped).
std::string apply_question_template(const std::string& question_template, const std::string& text);
// As above, but a question whose text is already a whole prompt (is_prompt) is returned as is.
std::string apply_question_template(const std::string& question_template, const Question& question);

// The order of epoch `epoch`: a permutation of 0..size-1 that depends only on (seed, epoch),
// identical on every platform (Fisher-Yates over data/random.h).
std::vector<std::size_t> epoch_order(std::size_t size, std::uint64_t seed, std::uint64_t epoch);

// Where a cursor stands; saved into checkpoints. seed, size and shuffle are kept to refuse
// a resume against a different data file or seed.
struct CursorState {
  std::uint64_t seed = 0;
  std::size_t size = 0;
  bool shuffle = true;
  std::uint64_t epoch = 0;   // epochs completed so far
  std::size_t position = 0;  // questions of the current epoch already handed out

  io::Json to_json() const;
  static CursorState from_json(const io::Json& json);  // InputError on a malformed state
};

class PromptCursor {
 public:
  // shuffle = false walks 0..size-1 in file order every epoch. size must be > 0.
  PromptCursor(std::size_t size, std::uint64_t seed, bool shuffle = true);

  // The next n question indices. A batch that reaches the end of an epoch continues into the
  // next epoch's order (so a batch may repeat a question when n > size, or at the seam).
  std::vector<std::size_t> next_batch(std::size_t n);

  std::uint64_t epoch() const { return state_.epoch; }
  std::size_t position() const { return state_.position; }
  // Epochs served so far as a fraction (1.5 = one and a half passes).
  double epochs_done() const;

  const CursorState& state() const { return state_; }
  // InputError when the state belongs to another seed, size or shuffle setting.
  void restore(const CursorState& state);

 private:
  CursorState state_;
  std::vector<std::size_t> order_;  // the current epoch's order
};

// Questions plus a cursor over them.
class PromptSource {
 public:
  PromptSource(std::vector<Question> questions, std::uint64_t seed, bool shuffle = true);
  static PromptSource from_file(const std::string& path, std::uint64_t seed, bool shuffle = true,
                                std::vector<SkippedLine>* skipped = nullptr);

  std::vector<Question> next_batch(std::size_t n);

  const std::vector<Question>& questions() const { return questions_; }
  PromptCursor& cursor() { return cursor_; }
  const PromptCursor& cursor() const { return cursor_; }

 private:
  std::vector<Question> questions_;
  PromptCursor cursor_;
};

}  // namespace empo::data
