#pragma once
// The embedded demo task (../shared/docs/DEMO-NOTES.md): add k two-digit numbers.
//   question          23+45+67+12=
//   reasoning target  23+45=68,68+67=135,135+12=147,#147$
//   direct target     #147$
// The answer is the digits after the last '#'; '$' ends the output. Several steps are needed,
// each checkable, so a model can be right by reasoning or by guessing, and a completion can be
// consistent but wrong (the demo's measured failure mode).
//
// Splits: a question belongs to the test split when a fixed hash of its text falls in the
// test bucket, to the train split otherwise, so the splits never overlap whatever the seeds.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace empo::data {

struct AdditionTask {
  std::vector<int> term_counts = {3, 4};  // k is drawn uniformly from these (each 2..9)
  int min_term = 10;                      // terms are drawn uniformly from [min_term, max_term]
  int max_term = 99;
  int test_percent = 10;  // share of the question space held out for test
};

// InputError naming the field when a task is unusable (k < 2, empty range, ...).
void validate(const AdditionTask& task);

struct AdditionProblem {
  std::vector<int> terms;
  long answer = 0;
  std::string question;   // "23+45+67+12="
  std::string reasoning;  // "23+45=68,68+67=135,135+12=147,#147$"
  std::string direct;     // "#147$"
};

AdditionProblem make_addition_problem(const std::vector<int>& terms);

// The terms of a question "a+b+...=" (non-negative decimal numbers, at least two);
// std::nullopt when the text is not such a question.
std::optional<std::vector<int>> parse_addition_question(const std::string& question);

enum class Split { train, test };
const char* to_string(Split split);

// Which split a question belongs to (FNV-1a of its text; stable across platforms).
Split split_of(const std::string& question, int test_percent);

// `count` distinct problems of one split, a function of (task, split, seed) only. InputError
// when the split has fewer than `count` distinct questions.
std::vector<AdditionProblem> generate_addition_split(const AdditionTask& task, Split split,
                                                     std::size_t count, std::uint64_t seed);

// JSONL, one {"question": "23+45+67+12=", "answer": "147"} a line; with_targets adds
// "reasoning" and "direct" (the supervised warm start's targets). Written atomically.
void write_addition_jsonl(const std::string& path, const std::vector<AdditionProblem>& problems,
                          bool with_targets = false);

// What a completion does, for monitoring (the demo logs the share of direct answers and of
// consistent reasoning). Everything after the first '$' is ignored.
struct AdditionCheck {
  bool has_answer = false;  // ends in '#' digits '$'
  std::string answer;       // the digits after the last '#', when has_answer
  bool direct = false;      // only "#N$": no steps before the '#'
  // Steps before the '#' are "a+b=c," each (at least one), and the answer is the last sum.
  bool well_formed = false;
  // well_formed, and the steps add the question's terms in order: step 1 is t1+t2, step i
  // is (the previous step's sum)+t(i+1), with exactly k-1 steps. Says nothing about whether
  // the sums are right: a consistent wrong rule still follows the question.
  bool follows_question = false;
  bool arithmetic_correct = false;  // every step's sum is right (meaningful when well_formed)
  // has_answer and the answer is the true sum written canonically ("147", not "0147"), the
  // same test as equivalence `exact` against the generator's answer.
  bool correct = false;
  int num_steps = 0;
};

// `question` must parse (parse_addition_question); InputError otherwise.
AdditionCheck check_addition_completion(const std::string& question, const std::string& completion);

}  // namespace empo::data
