#include "empo/reward/judge.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

#include "empo/io/error.h"
#include "test_support.h"

namespace empo::reward {

namespace {

// A stand-in for the judge model's forward pass: log-probabilities of " Yes" and " No"
// looked up by the exact prompt text (a prompt it was not given scores as a clear "No").
// It tests the judge's logic: prompt construction, the decision rule and the modes.
class TableScorer {
 public:
  void set(const std::string& prompt, double yes, double no) { table_[prompt] = {yes, no}; }

  YesNoLogProbs operator()(const std::string& prompt) {
    ++calls;
    auto found = table_.find(prompt);
    if (found == table_.end()) return {std::log(0.1), std::log(0.9)};
    return found->second;
  }

  int calls = 0;

 private:
  std::map<std::string, YesNoLogProbs> table_;
};

const std::string kQuestion = "What is the capital of France?";

}  // namespace

TEST(Judge, PromptFillsPlaceholdersOnce) {
  JudgeConfig config;
  config.prompt_template = "Q={question} R={a} C={b} again {question}";
  Judge judge([](const std::string&) { return YesNoLogProbs{}; }, config);
  EXPECT_EQ(judge.prompt("q", "r {b}", "c"), "Q=q R=r {b} C=c again q");
  std::string standard = Judge([](const std::string&) {
                           return YesNoLogProbs{};
                         }).prompt(kQuestion, "Paris", "paris, France");
  EXPECT_NE(standard.find(kQuestion), std::string::npos);
  EXPECT_NE(standard.find("Paris"), std::string::npos);
  EXPECT_NE(standard.find("paris, France"), std::string::npos);
  EXPECT_EQ(standard.find("{question}"), std::string::npos);
}

TEST(Judge, RejectsTemplatesWithoutPlaceholdersAndMissingScorer) {
  JudgeConfig config;
  config.prompt_template = "{question} {a}";
  EXPECT_THROW(Judge([](const std::string&) { return YesNoLogProbs{}; }, config), InputError);
  EXPECT_THROW(Judge(YesNoScorer{}), InputError);
  EXPECT_EQ(judge_mode_from_name("one_way"), JudgeMode::one_way);
  EXPECT_EQ(judge_mode_from_name("bidirectional"), JudgeMode::bidirectional);
  EXPECT_THROW(judge_mode_from_name("both"), InputError);
}

TEST(Judge, DecisionFollowsTheLogProbabilities) {
  TableScorer table;
  Judge probe([&](const std::string& prompt) { return table(prompt); });
  table.set(probe.prompt(kQuestion, "Paris", "paris"), std::log(0.7), std::log(0.3));
  table.set(probe.prompt(kQuestion, "Paris", "Lyon"), std::log(0.2), std::log(0.8));
  table.set(probe.prompt(kQuestion, "Paris", "tie"), -1.0, -1.0);
  table.set(probe.prompt(kQuestion, "Paris", "nan"), std::nan(""), -1.0);
  table.set(probe.prompt(kQuestion, "Paris", "no mass"), -std::numeric_limits<double>::infinity(),
            -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(probe.accepts(kQuestion, "Paris", "paris"));
  EXPECT_FALSE(probe.accepts(kQuestion, "Paris", "Lyon"));
  EXPECT_FALSE(probe.accepts(kQuestion, "Paris", "tie"));  // P(Yes) must exceed P(No)
  EXPECT_FALSE(probe.accepts(kQuestion, "Paris", "nan"));
  EXPECT_FALSE(probe.accepts(kQuestion, "Paris", "no mass"));
  EXPECT_EQ(table.calls, 5);
}

TEST(Judge, EmptyNeverMatchesAndIdenticalNeedsNoCall) {
  TableScorer table;
  Judge judge([&](const std::string& prompt) { return table(prompt); });
  table.set(judge.prompt(kQuestion, "", ""), 0.0, -10.0);
  EXPECT_FALSE(judge.equivalent(kQuestion, "", ""));
  EXPECT_FALSE(judge.equivalent(kQuestion, "Paris", " "));
  EXPECT_TRUE(judge.equivalent(kQuestion, "Paris", " Paris "));
  EXPECT_EQ(table.calls, 0);
  EXPECT_EQ(judge.scorer_calls(), 0);
}

TEST(Judge, OneWayAndBidirectionalModes) {
  TableScorer table;
  JudgeConfig one_way_config;
  one_way_config.mode = JudgeMode::one_way;
  Judge one_way([&](const std::string& prompt) { return table(prompt); }, one_way_config);
  Judge both([&](const std::string& prompt) { return table(prompt); });
  // "France's capital, Paris" accepts "Paris" as equivalent, not the other way round.
  table.set(one_way.prompt(kQuestion, "Paris", "France's capital, Paris"), -0.1, -2.5);
  table.set(one_way.prompt(kQuestion, "France's capital, Paris", "Paris"), -2.5, -0.1);
  EXPECT_TRUE(one_way.equivalent(kQuestion, "Paris", "France's capital, Paris"));
  EXPECT_FALSE(one_way.equivalent(kQuestion, "France's capital, Paris", "Paris"));
  EXPECT_FALSE(both.equivalent(kQuestion, "Paris", "France's capital, Paris"));
  EXPECT_FALSE(both.equivalent(kQuestion, "France's capital, Paris", "Paris"));
  table.set(one_way.prompt(kQuestion, "France's capital, Paris", "Paris"), -0.2, -1.9);
  EXPECT_TRUE(both.equivalent(kQuestion, "Paris", "France's capital, Paris"));
  EXPECT_EQ(both.scorer_calls(), 5);  // the first direction fails fast once
}

TEST(Judge, DrivesClustering) {
  TableScorer table;
  Judge judge([&](const std::string& prompt) { return table(prompt); });
  auto agree = [&](const std::string& a, const std::string& b) {
    table.set(judge.prompt(kQuestion, a, b), -0.1, -3.0);
    table.set(judge.prompt(kQuestion, b, a), -0.1, -3.0);
  };
  agree("Paris", "The city of Paris");
  agree("The city of Paris", "paris");
  std::vector<std::string> answers = {"paris", "Lyon", "Paris", "", "The city of Paris", "Lyon"};
  Clustering clustering = cluster_with(answers, judge.predicate(kQuestion));
  // Paris ~ The city of Paris ~ paris by transitive closure; Lyon alone; the empty answer alone.
  EXPECT_EQ(clustering.cluster_ids, (std::vector<int>{0, 1, 0, 2, 0, 1}));
  EXPECT_EQ(clustering.cluster_sizes, (std::vector<int>{3, 2, 1}));
}

TEST(Judge, ComparisonsPerQuestionAreBounded) {
  // 12 distinct answers that the judge would all join: 66 pairs; with a budget of 5 pairs the
  // first 5 (in sorted order) are decided by the model and the rest are "different", the same
  // on every run.
  std::vector<std::string> answers;
  for (int i = 0; i < 12; ++i) answers.push_back("answer " + std::to_string(100 + i));
  JudgeConfig config;
  config.max_comparisons_per_question = 5;
  std::vector<int> first_ids;
  for (int run = 0; run < 3; ++run) {
    Judge judge([](const std::string&) { return YesNoLogProbs{-0.1, -3.0}; }, config);
    Clustering clustering = cluster_with(answers, judge.predicate(kQuestion));
    EXPECT_EQ(judge.scorer_calls(), 2 * 5);  // bidirectional: two passes per decided pair
    EXPECT_GT(judge.bound_exceeded(), 0);
    // Pairs (0,1)...(0,5) joined answers 0-5; the other six stay alone.
    EXPECT_EQ(clustering.cluster_sizes[0], 6);
    EXPECT_EQ(clustering.cluster_sizes.size(), 7u);
    if (run == 0) first_ids = clustering.cluster_ids;
    EXPECT_EQ(clustering.cluster_ids, first_ids);
  }
  // Each predicate has its own budget: a second question is decided again.
  Judge judge([](const std::string&) { return YesNoLogProbs{-0.1, -3.0}; }, config);
  cluster_with(answers, judge.predicate("q1"));
  cluster_with(answers, judge.predicate("q2"));
  EXPECT_EQ(judge.scorer_calls(), 2 * 2 * 5);
  config.max_comparisons_per_question = 0;
  EXPECT_THROW(Judge([](const std::string&) { return YesNoLogProbs{}; }, config), InputError);
}

TEST(Judge, LongAnswersAreNeverSent) {
  JudgeConfig config;
  config.max_answer_bytes = 16;
  Judge judge([](const std::string&) { return YesNoLogProbs{-0.1, -3.0}; }, config);
  EXPECT_TRUE(judge.equivalent(kQuestion, "Paris", "paris"));
  EXPECT_FALSE(judge.equivalent(kQuestion, "Paris", std::string(17, 'P')));
  EXPECT_TRUE(judge.equivalent(kQuestion, std::string(17, 'P'), std::string(17, 'P')));
  EXPECT_EQ(judge.scorer_calls(), 2);
  EXPECT_EQ(judge.bound_exceeded(), 1);
}

}  // namespace empo::reward

namespace empo::reward {

TEST(Judge, BuiltInPromptsAndTemplateFiles) {
  JudgePrompt verifier = judge_prompt_from_name("general_verifier");
  EXPECT_FALSE(verifier.chat_turn);  // it writes its own User:/Assistant: turns
  for (const char* section : {"User: ### Question: {question}", "### Ground Truth Answer: {a}",
                              "### Student Answer: {b}", "Final Decision: Yes"})
    EXPECT_NE(verifier.text.find(section), std::string::npos) << section;
  const std::string ending = "\n\nAssistant: Final Decision:";
  ASSERT_GE(verifier.text.size(), ending.size());
  EXPECT_EQ(verifier.text.substr(verifier.text.size() - ending.size()), ending);

  JudgePrompt entailment = judge_prompt_from_name("entailment");
  EXPECT_TRUE(entailment.chat_turn);
  EXPECT_EQ(entailment.text, default_judge_template());
  Judge judge([](const std::string&) { return YesNoLogProbs{}; });
  std::string filled = judge.prompt("Q?", "first", "second");
  EXPECT_LT(filled.find("first"), filled.find("second"));

  const std::string dir = test::temp_dir("judge_prompt");
  test::write_text(dir + "/mine.txt", "{question} | {a} | {b} ->");
  JudgePrompt file = judge_prompt_from_name(dir + "/mine.txt");
  EXPECT_FALSE(file.chat_turn);  // a template file is sent exactly as written
  EXPECT_EQ(file.text, "{question} | {a} | {b} ->");
  test::write_text(dir + "/bad.txt", "{question} and {a} only");
  try {
    judge_prompt_from_name(dir + "/bad.txt");
    ADD_FAILURE() << "no InputError for a template without {b}";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("bad.txt"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("{b}"), std::string::npos) << error.what();
  }
  EXPECT_THROW(judge_prompt_from_name(dir + "/missing.txt"), InputError);
}

}  // namespace empo::reward
