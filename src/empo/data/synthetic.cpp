#include "empo/data/synthetic.h"

#include <unordered_set>

#include "empo/data/random.h"
#include "empo/io/error.h"
#include "empo/io/jsonl.h"

namespace empo::data {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A run of 1..9 decimal digits as a number (longer runs would overflow and never occur in a
// well-formed completion of this task).
std::optional<long> parse_digits(const std::string& text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  long value = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t found; (found = text.find(separator, start)) != std::string::npos; start = found + 1)
    parts.push_back(text.substr(start, found - start));
  parts.push_back(text.substr(start));
  return parts;
}

std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

struct Step {
  long left = 0, right = 0, sum = 0;
};

// "a+b=c"; nullopt when the text is anything else.
std::optional<Step> parse_step(const std::string& text) {
  size_t plus = text.find('+'), equals = text.find('=');
  if (plus == std::string::npos || equals == std::string::npos || equals < plus)
    return std::nullopt;
  auto left = parse_digits(text.substr(0, plus));
  auto right = parse_digits(text.substr(plus + 1, equals - plus - 1));
  auto sum = parse_digits(text.substr(equals + 1));
  if (!left || !right || !sum) return std::nullopt;
  return Step{*left, *right, *sum};
}

// Fills the step fields of `check` from the text before the answer's '#'.
void check_steps(const std::string& steps_text, const std::vector<int>& terms,
                 AdditionCheck& check) {
  // Every step ends in ',', so splitting leaves an empty last part.
  std::vector<std::string> parts = split(steps_text, ',');
  if (parts.size() < 2 || !parts.back().empty()) return;
  parts.pop_back();
  std::vector<Step> steps;
  for (const auto& part : parts) {
    auto step = parse_step(part);
    if (!step) return;
    steps.push_back(*step);
  }
  check.num_steps = static_cast<int>(steps.size());
  check.well_formed = std::to_string(steps.back().sum) == check.answer;
  if (!check.well_formed) return;
  check.arithmetic_correct = true;
  for (const auto& step : steps)
    check.arithmetic_correct = check.arithmetic_correct && step.left + step.right == step.sum;
  bool follows = steps.size() + 1 == terms.size() && steps[0].left == terms[0];
  for (size_t i = 0; follows && i < steps.size(); ++i) {
    follows = steps[i].right == terms[i + 1] && (i == 0 || steps[i].left == steps[i - 1].sum);
  }
  check.follows_question = follows;
}

}  // namespace

void validate(const AdditionTask& task) {
  if (task.term_counts.empty()) throw InputError("addition task: term_counts is empty");
  for (int count : task.term_counts)
    if (count < 2 || count > 9)
      throw InputError("addition task: term_counts must be in [2, 9], got " +
                       std::to_string(count));
  if (task.min_term < 0 || task.min_term > task.max_term || task.max_term > 99999)
    throw InputError("addition task: need 0 <= min_term <= max_term <= 99999, got [" +
                     std::to_string(task.min_term) + ", " + std::to_string(task.max_term) + "]");
  if (task.test_percent < 1 || task.test_percent > 99)
    throw InputError("addition task: test_percent must be in [1, 99], got " +
                     std::to_string(task.test_percent));
}

AdditionProblem make_addition_problem(const std::vector<int>& terms) {
  if (terms.size() < 2) throw InputError("an addition problem needs at least two terms");
  AdditionProblem problem;
  problem.terms = terms;
  long sum = terms[0];
  problem.question = std::to_string(terms[0]);
  for (size_t i = 1; i < terms.size(); ++i) {
    problem.question += "+" + std::to_string(terms[i]);
    long next = sum + terms[i];
    problem.reasoning +=
        std::to_string(sum) + "+" + std::to_string(terms[i]) + "=" + std::to_string(next) + ",";
    sum = next;
  }
  problem.question += "=";
  problem.answer = sum;
  problem.direct = "#" + std::to_string(sum) + "$";
  problem.reasoning += problem.direct;
  return problem;
}

std::optional<std::vector<int>> parse_addition_question(const std::string& question) {
  if (question.empty() || question.back() != '=') return std::nullopt;
  std::vector<int> terms;
  for (const auto& part : split(question.substr(0, question.size() - 1), '+')) {
    auto value = parse_digits(part);
    if (!value) return std::nullopt;
    terms.push_back(static_cast<int>(*value));
  }
  if (terms.size() < 2) return std::nullopt;
  return terms;
}

const char* to_string(Split split) {
  return split == Split::train ? "train" : "test";
}

Split split_of(const std::string& question, int test_percent) {
  return fnv1a(question) % 100 < static_cast<std::uint64_t>(test_percent) ? Split::test
                                                                          : Split::train;
}

std::vector<AdditionProblem> generate_addition_split(const AdditionTask& task, Split split,
                                                     std::size_t count, std::uint64_t seed) {
  validate(task);
  std::mt19937_64 engine = seeded_engine({seed, split == Split::train ? 0u : 1u});
  std::uint64_t range = static_cast<std::uint64_t>(task.max_term - task.min_term) + 1;
  std::vector<AdditionProblem> problems;
  std::unordered_set<std::string> seen;
  // Bounded so that asking a small question space for too many questions fails, not hangs.
  const std::size_t max_attempts = 100 * count + 1000000;
  for (std::size_t attempt = 0; problems.size() < count; ++attempt) {
    if (attempt == max_attempts)
      throw InputError("addition task: found only " + std::to_string(problems.size()) +
                       " distinct " + to_string(split) + " questions of the " +
                       std::to_string(count) + " asked for (widen the terms' range or counts)");
    int terms_count = task.term_counts[uniform_below(engine, task.term_counts.size())];
    std::vector<int> terms;
    for (int i = 0; i < terms_count; ++i)
      terms.push_back(task.min_term + static_cast<int>(uniform_below(engine, range)));
    AdditionProblem problem = make_addition_problem(terms);
    if (split_of(problem.question, task.test_percent) != split) continue;
    if (!seen.insert(problem.question).second) continue;
    problems.push_back(std::move(problem));
  }
  return problems;
}

void write_addition_jsonl(const std::string& path, const std::vector<AdditionProblem>& problems,
                          bool with_targets) {
  io::JsonlWriter writer(path);
  for (const auto& problem : problems) {
    io::Json record = {{"question", problem.question}, {"answer", std::to_string(problem.answer)}};
    if (with_targets) {
      record["reasoning"] = problem.reasoning;
      record["direct"] = problem.direct;
    }
    writer.write(record);
  }
  writer.commit();
}

AdditionCheck check_addition_completion(const std::string& question,
                                        const std::string& completion) {
  auto terms = parse_addition_question(question);
  if (!terms) throw InputError("not an addition question: \"" + question + "\"");
  AdditionCheck check;
  size_t end = completion.find('$');
  if (end == std::string::npos) return check;
  size_t hash = completion.rfind('#', end);
  if (hash == std::string::npos) return check;
  std::string digits = completion.substr(hash + 1, end - hash - 1);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return check;
  check.has_answer = true;
  check.answer = digits;
  long sum = 0;
  for (int term : *terms) sum += term;
  check.correct = check.answer == std::to_string(sum);
  check.direct = hash == 0;
  if (!check.direct) check_steps(completion.substr(0, hash), *terms, check);
  return check;
}

}  // namespace empo::data
