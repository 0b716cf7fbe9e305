#include "empo/data/prompt_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "empo/io/error.h"
#include "test_support.h"

namespace empo::data {
namespace {

std::string error_of_line(const std::string& line) {
  std::string dir = test::temp_dir("prompt_bad");
  std::string path = dir + "/bad.jsonl";
  test::write_text(path, "{\"problem\": \"fine\"}\n" + line + "\n");
  try {
    read_questions(path);
  } catch (const InputError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no InputError for " << line;
  return "";
}

TEST(PromptSource, ReadsEveryShape) {
  std::string path = test::fixture("data/shapes.jsonl");
  std::vector<Question> questions = read_questions(path);
  ASSERT_EQ(questions.size(), 8u);

  EXPECT_EQ(questions[0].text, "What is $1+1$?");
  EXPECT_EQ(questions[0].answers, std::vector<std::string>{"2"});
  EXPECT_EQ(questions[0].line, 1);
  EXPECT_EQ(questions[0].id, "shapes:1");
  EXPECT_FALSE(questions[0].is_prompt);

  EXPECT_EQ(questions[1].answers, std::vector<std::string>{"72"});  // a JSON number

  // Line 3 is blank; line numbers stay those of the file.
  EXPECT_EQ(questions[2].line, 4);
  EXPECT_EQ(questions[2].text, "Compute 3*4. Put the answer in \\boxed{}.");
  EXPECT_TRUE(questions[2].is_prompt);
  EXPECT_EQ(questions[2].answers, std::vector<std::string>{"12"});

  EXPECT_EQ(questions[3].text, "Solve $x+2=5$.");
  EXPECT_EQ(questions[3].system_prompt, "You are careful.");
  EXPECT_TRUE(questions[3].is_prompt);
  EXPECT_EQ(questions[3].answers, (std::vector<std::string>{"3", "x=3"}));

  EXPECT_TRUE(questions[4].answer_from_solution);
  EXPECT_EQ(questions[4].answers,
            std::vector<std::string>{"Divide top and bottom by 2: $\\boxed{\\frac{1}{2}}$."});

  EXPECT_EQ(questions[5].id, "unlabeled-7");
  EXPECT_TRUE(questions[5].answers.empty());
  EXPECT_FALSE(questions[5].answer_from_solution);

  // "problem" wins over "prompt"; "answer" wins over "solution".
  EXPECT_EQ(questions[6].text, "Both fields");
  EXPECT_FALSE(questions[6].is_prompt);
  EXPECT_EQ(questions[6].answers, std::vector<std::string>{"a"});
  EXPECT_FALSE(questions[6].answer_from_solution);

  EXPECT_EQ(questions[7].id, "42");
  EXPECT_EQ(questions[7].answers, (std::vector<std::string>{"1", "2.5"}));
}

TEST(PromptSource, ReadsTheVerlBenchmarks) {
  const std::map<std::string, std::vector<std::string>> first_answers = {
      {"aime24", {"204"}},
      {"amc23", {"27"}},
      {"math500", {"\\left( 3, \\frac{\\pi}{2} \\right)"}},
      {"minerva_math", {"1.6"}},
      {"olympiadbench", {"2"}}};
  for (const auto& [name, answers] : first_answers) {
    SCOPED_TRACE(name);
    std::vector<Question> questions =
        read_questions(test::fixture("data/benchmarks/" + name + ".jsonl"));
    ASSERT_EQ(questions.size(), 3u);
    EXPECT_EQ(questions[0].answers, answers);
    for (const auto& question : questions) {
      EXPECT_TRUE(question.is_prompt);
      EXPECT_EQ(question.answers.size(), 1u);
      // The user message already carries the instruction, so templating keeps it as is.
      EXPECT_NE(question.text.find("Let's think step by step"), std::string::npos);
      EXPECT_EQ(apply_question_template(kAuthorsQuestionTemplate, question), question.text);
    }
  }
  std::vector<Question> olympiad =
      read_questions(test::fixture("data/benchmarks/olympiadbench.jsonl"));
  EXPECT_EQ(olympiad[1].answers, std::vector<std::string>{"$\\frac{1}{2 n+2}$"});  // raw, as given
}

TEST(PromptSource, BadLinesNameFileAndLine) {
  struct Case {
    std::string line, fragment;
  };
  for (const Case& bad : std::vector<Case>{
           {"not json", "invalid JSON"},
           {"[1, 2]", "expected a JSON object"},
           {"{\"text\": \"no known field\"}", "no question"},
           {"{\"problem\": 7}", "\"problem\" must be a string"},
           {"{\"problem\": \"  \"}", "\"problem\" is empty"},
           {"{\"prompt\": []}", "no user message"},
           {"{\"prompt\": [{\"role\": \"user\"}]}", "\"role\" and \"content\""},
           {"{\"prompt\": [{\"role\": \"assistant\", \"content\": \"x\"}]}", "unsupported role"},
           {"{\"prompt\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"user\", "
            "\"content\": \"b\"}]}",
            "more than one user message"},
           {"{\"problem\": \"q\", \"answer\": {\"x\": 1}}",
            "\"answer\" must be a string or a number"},
           {"{\"problem\": \"q\", \"answer\": \"\"}", "\"answer\" is an empty string"},
           {"{\"problem\": \"q\", \"reward_model\": \"x\"}", "\"reward_model\" must be an object"},
           {"{\"problem\": \"q\", \"reward_model\": {\"ground_truth\": [true]}}",
            "reward_model.ground_truth"},
           {"{\"problem\": \"q\", \"id\": 1.5}", "\"id\" must be"},
       }) {
    std::string message = error_of_line(bad.line);
    EXPECT_NE(message.find("bad.jsonl:2: "), std::string::npos) << bad.line << " -> " << message;
    EXPECT_NE(message.find(bad.fragment), std::string::npos) << bad.line << " -> " << message;
  }
}

TEST(PromptSource, EmptyOrMissingFileIsAnInputError) {
  std::string dir = test::temp_dir("prompt_empty");
  test::write_text(dir + "/empty.jsonl", "\n\n");
  EXPECT_THROW(read_questions(dir + "/empty.jsonl"), InputError);
  EXPECT_THROW(read_questions(dir + "/missing.jsonl"), InputError);
}

TEST(QuestionTemplate, ReplacesEveryPlaceholder) {
  EXPECT_EQ(apply_question_template(kAuthorsQuestionTemplate, "What is 2+2?"),
            "What is 2+2? Let's think step by step and output the final answer within \\boxed{}.");
  EXPECT_EQ(apply_question_template("{question}", "23+45="), "23+45=");
  EXPECT_EQ(apply_question_template("[{question}|{question}]", "x"), "[x|x]");
  // A question that itself contains the placeholder text is inserted once, not re-expanded.
  EXPECT_EQ(apply_question_template("Q: {question}!", "{question}"), "Q: {question}!");
  EXPECT_THROW(apply_question_template("no placeholder", "x"), InputError);
  Question plain;
  plain.text = "x";
  EXPECT_EQ(apply_question_template("<{question}>", plain), "<x>");
}

TEST(PromptSource, AuthorsPromptsAreVerbatim) {
  EXPECT_STREQ(kAuthorsSystemPrompt,
               "Please reason step by step, and put your final answer within \\boxed{}.");
  EXPECT_STREQ(kAuthorsQuestionTemplate,
               "{question} Let's think step by step and output the final answer within \\boxed{}.");
}

TEST(EpochOrder, IsAPermutationDeterminedBySeedAndEpoch) {
  std::vector<std::size_t> order = epoch_order(50, 7, 0);
  std::vector<std::size_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_EQ(epoch_order(50, 7, 0), order);
  EXPECT_NE(epoch_order(50, 7, 1), order);
  EXPECT_NE(epoch_order(50, 8, 0), order);
  // Seed and epoch are not simply added: (7, 1) and (8, 0) differ.
  EXPECT_NE(epoch_order(50, 7, 1), epoch_order(50, 8, 0));
  EXPECT_EQ(epoch_order(1, 3, 5), std::vector<std::size_t>{0});
}

TEST(EpochOrder, IsRoughlyUniform) {
  // Over many epochs each question lands in each position about equally often.
  const std::size_t size = 4, epochs = 8000;
  std::vector<std::vector<int>> counts(size, std::vector<int>(size, 0));
  for (std::uint64_t epoch = 0; epoch < epochs; ++epoch) {
    auto order = epoch_order(size, 11, epoch);
    for (std::size_t position = 0; position < size; ++position) ++counts[position][order[position]];
  }
  for (const auto& row : counts)
    for (int count : row) EXPECT_NEAR(count, epochs / size, 150);
}

TEST(PromptCursor, WalksEpochsAndContinuesAcrossTheSeam) {
  PromptCursor cursor(5, 1);
  std::vector<std::size_t> epoch0 = epoch_order(5, 1, 0), epoch1 = epoch_order(5, 1, 1);
  std::vector<std::size_t> first = cursor.next_batch(3);
  EXPECT_EQ(first, std::vector<std::size_t>(epoch0.begin(), epoch0.begin() + 3));
  EXPECT_EQ(cursor.epoch(), 0u);
  EXPECT_EQ(cursor.position(), 3u);
  std::vector<std::size_t> second = cursor.next_batch(4);  // 2 from epoch 0, 2 from epoch 1
  EXPECT_EQ(second, (std::vector<std::size_t>{epoch0[3], epoch0[4], epoch1[0], epoch1[1]}));
  EXPECT_EQ(cursor.epoch(), 1u);
  EXPECT_EQ(cursor.position(), 2u);
  EXPECT_DOUBLE_EQ(cursor.epochs_done(), 1.4);
  // A batch larger than the data set spans several epochs.
  EXPECT_EQ(cursor.next_batch(11).size(), 11u);
  EXPECT_EQ(cursor.epoch(), 3u);
  EXPECT_EQ(cursor.position(), 3u);
}

TEST(PromptCursor, WithoutShuffleFollowsFileOrder) {
  PromptCursor cursor(3, 99, false);
  EXPECT_EQ(cursor.next_batch(7), (std::vector<std::size_t>{0, 1, 2, 0, 1, 2, 0}));
}

TEST(PromptCursor, ResumeFromSavedStateIsExact) {
  PromptCursor straight(13, 2024);
  std::vector<std::size_t> expected;
  for (int step = 0; step < 10; ++step) {
    auto batch = straight.next_batch(4);
    expected.insert(expected.end(), batch.begin(), batch.end());
  }

  PromptCursor first_half(13, 2024);
  std::vector<std::size_t> got;
  for (int step = 0; step < 5; ++step) {
    auto batch = first_half.next_batch(4);
    got.insert(got.end(), batch.begin(), batch.end());
  }
  // Save through JSON text, as a checkpoint would.
  std::string saved = first_half.state().to_json().dump();
  PromptCursor resumed(13, 2024);
  resumed.restore(CursorState::from_json(io::Json::parse(saved)));
  for (int step = 0; step < 5; ++step) {
    auto batch = resumed.next_batch(4);
    got.insert(got.end(), batch.begin(), batch.end());
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(resumed.state().to_json(), straight.state().to_json());
}

TEST(PromptCursor, RefusesAStateOfAnotherRun) {
  PromptCursor cursor(10, 5);
  cursor.next_batch(3);
  CursorState state = cursor.state();
  EXPECT_THROW(PromptCursor(11, 5).restore(state), InputError);  // the data changed
  EXPECT_THROW(PromptCursor(10, 6).restore(state), InputError);  // another seed
  EXPECT_THROW(PromptCursor(10, 5, false).restore(state), InputError);
  EXPECT_THROW(PromptCursor(0, 5), InputError);
  io::Json json = state.to_json();
  json["position"] = 10;
  EXPECT_THROW(CursorState::from_json(json), InputError);
  json = state.to_json();
  json.erase("epoch");
  EXPECT_THROW(CursorState::from_json(json), InputError);
  json = state.to_json();
  json["shuffle"] = 1;
  EXPECT_THROW(CursorState::from_json(json), InputError);
  EXPECT_THROW(CursorState::from_json(io::Json::array()), InputError);
}

TEST(PromptSource, HandsOutQuestionsInCursorOrder) {
  PromptSource source = PromptSource::from_file(test::fixture("data/shapes.jsonl"), 3);
  std::vector<std::size_t> order = epoch_order(8, 3, 0);
  std::vector<Question> batch = source.next_batch(8);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(batch[i].id, source.questions()[order[i]].id);
    ids.insert(batch[i].id);
  }
  EXPECT_EQ(ids.size(), 8u);  // one epoch: every question once
  EXPECT_EQ(source.cursor().epoch(), 1u);
  EXPECT_THROW(PromptSource({}, 1), InputError);
}

}  // namespace
}  // namespace empo::data
