#include "empo/data/synthetic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "empo/data/prompt_source.h"
#include "empo/io/error.h"
#include "test_support.h"

namespace empo::data {
namespace {

// Independent reference: split the question with a regex and add the numbers as decimal
// strings, column by column, the way it is done on paper (no integer parsing of the terms).
std::string paper_sum(const std::string& question) {
  static const std::regex shape("^([0-9]+)(\\+[0-9]+)+=$");
  if (!std::regex_match(question, shape)) return "not a question";
  std::vector<std::string> terms;
  static const std::regex number("[0-9]+");
  for (auto it = std::sregex_iterator(question.begin(), question.end(), number);
       it != std::sregex_iterator(); ++it)
    terms.push_back(it->str());
  std::string total = "0";
  for (const auto& term : terms) {
    std::string result;
    int carry = 0;
    for (std::size_t i = 0; i < std::max(total.size(), term.size()) || carry; ++i) {
      int digit = carry;
      if (i < total.size()) digit += total[total.size() - 1 - i] - '0';
      if (i < term.size()) digit += term[term.size() - 1 - i] - '0';
      result.push_back(static_cast<char>('0' + digit % 10));
      carry = digit / 10;
    }
    std::reverse(result.begin(), result.end());
    total = result.substr(std::min(result.find_first_not_of('0'), result.size() - 1));
  }
  return total;
}

TEST(PaperSum, IsItselfRight) {
  EXPECT_EQ(paper_sum("23+45+67+12="), "147");
  EXPECT_EQ(paper_sum("99+99+99+99="), "396");
  EXPECT_EQ(paper_sum("10+10+10="), "30");
  EXPECT_EQ(paper_sum("23+45"), "not a question");
}

TEST(Addition, TheNotesExample) {
  AdditionProblem problem = make_addition_problem({23, 45, 67, 12});
  EXPECT_EQ(problem.question, "23+45+67+12=");
  EXPECT_EQ(problem.reasoning, "23+45=68,68+67=135,135+12=147,#147$");
  EXPECT_EQ(problem.direct, "#147$");
  EXPECT_EQ(problem.answer, 147);
  EXPECT_THROW(make_addition_problem({5}), InputError);
}

TEST(Addition, GeneratedAnswersAreRightByAnIndependentMethod) {
  AdditionTask task;
  for (Split split : {Split::train, Split::test}) {
    std::vector<AdditionProblem> problems = generate_addition_split(task, split, 500, 3);
    ASSERT_EQ(problems.size(), 500u);
    std::set<std::size_t> counts_seen;
    for (const auto& problem : problems) {
      ASSERT_EQ(std::to_string(problem.answer), paper_sum(problem.question)) << problem.question;
      counts_seen.insert(problem.terms.size());
      for (int term : problem.terms) {
        EXPECT_GE(term, 10);
        EXPECT_LE(term, 99);
      }
      // The targets are consistent with the question and with the checker.
      AdditionCheck reasoning = check_addition_completion(problem.question, problem.reasoning);
      EXPECT_TRUE(reasoning.well_formed && reasoning.follows_question &&
                  reasoning.arithmetic_correct && reasoning.correct)
          << problem.reasoning;
      EXPECT_EQ(reasoning.num_steps, static_cast<int>(problem.terms.size()) - 1);
      AdditionCheck direct = check_addition_completion(problem.question, problem.direct);
      EXPECT_TRUE(direct.direct && direct.correct);
    }
    EXPECT_EQ(counts_seen, (std::set<std::size_t>{3, 4}));
  }
}

TEST(Addition, SplitsNeverOverlapAndAreDeterministic) {
  AdditionTask task;
  std::vector<AdditionProblem> train = generate_addition_split(task, Split::train, 5000, 1);
  std::vector<AdditionProblem> test = generate_addition_split(task, Split::test, 500, 2);
  std::set<std::string> train_questions;
  for (const auto& problem : train) {
    train_questions.insert(problem.question);
    EXPECT_EQ(split_of(problem.question, task.test_percent), Split::train);
  }
  EXPECT_EQ(train_questions.size(), train.size());  // distinct within the split
  for (const auto& problem : test) {
    EXPECT_EQ(train_questions.count(problem.question), 0u) << problem.question;
    EXPECT_EQ(split_of(problem.question, task.test_percent), Split::test);
  }
  // Even a train split drawn with the test split's seed stays disjoint from it.
  for (const auto& problem : generate_addition_split(task, Split::train, 2000, 2))
    EXPECT_EQ(split_of(problem.question, task.test_percent), Split::train);

  std::vector<AdditionProblem> again = generate_addition_split(task, Split::test, 500, 2);
  std::vector<AdditionProblem> other = generate_addition_split(task, Split::test, 500, 3);
  auto questions = [](const std::vector<AdditionProblem>& problems) {
    std::vector<std::string> result;
    for (const auto& problem : problems) result.push_back(problem.question);
    return result;
  };
  EXPECT_EQ(questions(again), questions(test));
  EXPECT_NE(questions(other), questions(test));
}

TEST(Addition, TestBucketHoldsAboutTheConfiguredShare) {
  std::mt19937_64 engine(5);
  int test = 0, total = 20000;
  for (int i = 0; i < total; ++i) {
    std::vector<int> terms = {10 + static_cast<int>(engine() % 90),
                              10 + static_cast<int>(engine() % 90),
                              10 + static_cast<int>(engine() % 90)};
    test += split_of(make_addition_problem(terms).question, 10) == Split::test;
  }
  EXPECT_NEAR(test, total / 10, 300);
}

TEST(Addition, TooSmallASpaceFailsInsteadOfHanging) {
  AdditionTask tiny;
  tiny.term_counts = {2};
  tiny.min_term = 10;
  tiny.max_term = 11;  // 4 possible questions in all
  EXPECT_THROW(generate_addition_split(tiny, Split::train, 10, 0), InputError);
}

TEST(Addition, BadTasksAreInputErrors) {
  AdditionTask task;
  task.term_counts = {1};
  EXPECT_THROW(validate(task), InputError);
  task = AdditionTask{};
  task.term_counts = {};
  EXPECT_THROW(validate(task), InputError);
  task = AdditionTask{};
  task.min_term = 50;
  task.max_term = 40;
  EXPECT_THROW(validate(task), InputError);
  task = AdditionTask{};
  task.test_percent = 0;
  EXPECT_THROW(validate(task), InputError);
  EXPECT_NO_THROW(validate(AdditionTask{}));
}

TEST(Addition, WritesJsonlThatThePromptReaderReads) {
  std::vector<AdditionProblem> problems =
      generate_addition_split(AdditionTask{}, Split::test, 20, 9);
  std::string dir = test::temp_dir("synthetic_write");
  write_addition_jsonl(dir + "/test.jsonl", problems);
  write_addition_jsonl(dir + "/sft.jsonl", problems, true);
  std::vector<Question> questions = read_questions(dir + "/test.jsonl");
  ASSERT_EQ(questions.size(), problems.size());
  for (std::size_t i = 0; i < problems.size(); ++i) {
    EXPECT_EQ(questions[i].text, problems[i].question);
    EXPECT_EQ(questions[i].answers, std::vector<std::string>{paper_sum(problems[i].question)});
  }
  std::istringstream plain(test::read_text(dir + "/test.jsonl"));
  std::string line;
  std::getline(plain, line);
  EXPECT_EQ(io::Json::parse(line), (io::Json{{"question", problems[0].question},
                                             {"answer", std::to_string(problems[0].answer)}}));
  std::istringstream with_targets(test::read_text(dir + "/sft.jsonl"));
  std::getline(with_targets, line);
  io::Json record = io::Json::parse(line);
  EXPECT_EQ(record["reasoning"], problems[0].reasoning);
  EXPECT_EQ(record["direct"], problems[0].direct);
}

TEST(Addition, ParsesQuestions) {
  EXPECT_EQ(parse_addition_question("23+45="), (std::vector<int>{23, 45}));
  EXPECT_EQ(parse_addition_question("1+2+3+4="), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_FALSE(parse_addition_question("23="));
  EXPECT_FALSE(parse_addition_question("23+45"));
  EXPECT_FALSE(parse_addition_question("23++45="));
  EXPECT_FALSE(parse_addition_question("23+-4="));
  EXPECT_FALSE(parse_addition_question(""));
}

TEST(AdditionCheck, ClassifiesCompletions) {
  const std::string question = "37+88+10=";  // 135
  AdditionCheck right = check_addition_completion(question, "37+88=125,125+10=135,#135$");
  EXPECT_TRUE(right.has_answer && right.well_formed && right.follows_question &&
              right.arithmetic_correct && right.correct && !right.direct);
  EXPECT_EQ(right.answer, "135");
  EXPECT_EQ(right.num_steps, 2);

  // The notes' collapse: a consistent rule that drops carries. It follows the question but
  // its arithmetic is wrong.
  AdditionCheck dropped = check_addition_completion(question, "37+88=115,115+10=125,#125$");
  EXPECT_TRUE(dropped.well_formed && dropped.follows_question);
  EXPECT_FALSE(dropped.arithmetic_correct || dropped.correct);

  AdditionCheck guess = check_addition_completion(question, "#135$");
  EXPECT_TRUE(guess.direct && guess.correct && guess.has_answer);
  EXPECT_FALSE(guess.well_formed);
  EXPECT_FALSE(check_addition_completion(question, "#134$").correct);

  // Steps that skip a term or use another term: well formed, but not this question's steps.
  AdditionCheck skipped = check_addition_completion(question, "37+88=125,#125$");
  EXPECT_TRUE(skipped.well_formed && skipped.arithmetic_correct);
  EXPECT_FALSE(skipped.follows_question || skipped.correct);
  EXPECT_FALSE(check_addition_completion(question, "37+88=125,120+10=130,#130$").follows_question);
  EXPECT_FALSE(check_addition_completion(question, "88+37=125,125+10=135,#135$").follows_question);

  // The answer must be the last step's sum for the steps to be well formed.
  AdditionCheck mismatch = check_addition_completion(question, "37+88=125,125+10=135,#136$");
  EXPECT_TRUE(mismatch.has_answer);
  EXPECT_FALSE(mismatch.well_formed);

  // No answer: no '$', nothing or non-digits after the '#', no '#'.
  for (const char* none : {"37+88=125,125+10=135,#135", "#$", "#13a$", "135$", ""}) {
    AdditionCheck check = check_addition_completion(question, none);
    EXPECT_FALSE(check.has_answer) << none;
    EXPECT_FALSE(check.correct) << none;
  }
  // Text after the first '$' is ignored; a leading zero is a different answer string.
  EXPECT_TRUE(check_addition_completion(question, "#135$#999$junk").correct);
  AdditionCheck padded = check_addition_completion(question, "#0135$");
  EXPECT_TRUE(padded.has_answer);
  EXPECT_FALSE(padded.correct);
  // Malformed steps.
  EXPECT_FALSE(check_addition_completion(question, "37+88=125125+10=135,#135$").well_formed);
  EXPECT_FALSE(check_addition_completion(question, "37+88=125,125+10=135#135$").well_formed);
  EXPECT_FALSE(check_addition_completion(question, "37+88+10=135,#135$").well_formed);
  EXPECT_FALSE(check_addition_completion(question, ",#135$").well_formed);

  EXPECT_THROW(check_addition_completion("What is 2+2?", "#4$"), InputError);
}

}  // namespace
}  // namespace empo::data
