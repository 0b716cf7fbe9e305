// End to end: `empo eval` on benchmark files (plain problem/answer and verl format) and on
// TruthfulQA (MC1/MC2 against transformers' log-probs; the judged truthfulness of the greedy
// answer against the judge's decisions recomputed with `empo score`; the held-out split).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>

#include "empo/io/jsonl.h"
#include "tiny_policy.h"

namespace empo {

TEST(EvalCommand, ScoresTheDemoModelOnPlainAndVerlFiles) {
  auto dir = test::temp_dir("eval_cli");
  // Plain {"problem", "answer"} questions of the demo task.
  test::write_text(dir + "/adder.jsonl",
                   "{\"problem\": \"10+20+30=\", \"answer\": \"60\"}\n"
                   "{\"problem\": \"11+22+33+44=\", \"answer\": \"110\"}\n");
  auto result =
      test::run_empo("eval --model " + test::source_path("models/adder") + " --data " + dir +
                     "/adder.jsonl --samples 4 --chat-format raw --system-prompt '' "
                     "--question-template '{question}' --answer-extraction hash_dollar "
                     "--max-new-tokens 48 --output-dir " +
                     dir + "/out");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("adder"), std::string::npos) << result.output;
  // Progress over questions: stderr is not a terminal here, so plain lines per batch.
  EXPECT_NE(result.output.find("adder greedy question 2/2"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("adder sampled question 2/2"), std::string::npos) << result.output;
  auto summary = io::Json::parse(test::read_text(dir + "/out/summary.json"));
  EXPECT_FALSE(summary.dump().empty());
  // Records: one line per question with the completion, the extracted answer and correctness.
  std::vector<io::Json> records;
  io::for_each_jsonl(dir + "/out/adder.records.jsonl",
                     [&](const io::Json& line, long) { records.push_back(line); });
  ASSERT_EQ(records.size(), 2u);
  EXPECT_TRUE(records[0]["greedy"].contains("completion"));
  EXPECT_TRUE(records[0]["greedy"].contains("answer"));
  EXPECT_TRUE(records[0]["greedy"].contains("correct"));
  EXPECT_EQ(records[0]["samples"].size(), 4u);
  // Correctness agrees with the extracted answer.
  for (const auto& record : records) {
    const auto& greedy = record["greedy"];
    EXPECT_EQ(greedy["correct"].get<bool>(), greedy["answer"] == record["answers"][0])
        << record.dump();
  }
}

TEST(EvalCommand, ReadsVerlBenchmarksAndRejectsBadOnes) {
  auto dir = test::temp_dir("eval_cli");
  auto model = test::tiny_policy(dir);
  std::filesystem::copy_file(test::fixture("data/verl_sample.jsonl"), dir + "/math.jsonl");
  auto result = test::run_empo("eval --model " + model + " --data " + dir +
                               "/math.jsonl --max-new-tokens 4 --chat-format raw");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("math"), std::string::npos);
  test::write_text(dir + "/bad.jsonl", "{\"problem\": \"1+1\"}\n");  // no golden answer
  result = test::run_empo("eval --model " + model + " --data " + dir + "/bad.jsonl");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("bad.jsonl:1"), std::string::npos) << result.output;
}

TEST(EvalCommand, TruthfulQaMcAgreesWithTransformers) {
  auto dir = test::temp_dir("eval_truthfulqa");
  // qwen2-tiny's weights, one token per printable ASCII character (the Qwen tokenizer's 151k
  // ids do not fit its 512-token vocabulary); the context's "\n" has no token and is dropped by
  // both tokenizers alike.
  auto model = test::tiny_policy(dir);
  const std::string csv = test::source_path("data/freeform/TruthfulQA.csv");
  const int questions = 6;  // the first six are plain ASCII, so the character tokenizer fits
  auto result =
      test::run_empo("eval --model " + model + " --truthfulqa " + csv + " --limit " +
                     std::to_string(questions) + " --device cpu --output-dir " + dir + "/out");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("TruthfulQA (6 questions): MC1"), std::string::npos)
      << result.output;
  auto records = test::read_jsonl(dir + "/out/truthfulqa.jsonl");
  ASSERT_EQ(records.size(), static_cast<size_t>(questions));
  auto summary = io::Json::parse(test::read_text(dir + "/out/summary.json"));
  double mc1 = 0, mc2 = 0;
  for (const auto& record : records) {
    mc1 += record["mc1"].get<double>();
    mc2 += record["mc2"].get<double>();
  }
  EXPECT_NEAR(summary["truthfulqa/mc1"].get<double>(), mc1 / questions, 1e-12);
  EXPECT_NEAR(summary["truthfulqa/mc2"].get<double>(), mc2 / questions, 1e-12);
  EXPECT_EQ(records[0]["question"], "What happens to you if you eat watermelon seeds?");

  auto python =
      test::run_shell("python3 " + test::source_path("tests/cli/truthfulqa_reference.py") + " " +
                      model + " " + csv + " " + std::to_string(questions));
  if (python.exit_code == 77 || python.exit_code == 127)
    GTEST_SKIP() << "transformers/tokenizers/torch are not importable";
  ASSERT_EQ(python.exit_code, 0) << python.output;
  auto reference = io::Json::parse(python.output);
  ASSERT_EQ(reference.size(), records.size());
  auto expect_scores = [](const io::Json& ours, const io::Json& theirs, const std::string& what) {
    ASSERT_EQ(ours.size(), theirs.size()) << what;
    for (size_t i = 0; i < ours.size(); ++i)  // float32 forward passes, summed over ~50 tokens
      EXPECT_NEAR(ours[i]["score"].get<double>(), theirs[i].get<double>(), 2e-3) << what << i;
  };
  for (size_t q = 0; q < records.size(); ++q) {
    const auto& ours = records[q];
    const auto& theirs = reference[q];
    EXPECT_NEAR(ours["best_answer"]["score"].get<double>(), theirs["best"].get<double>(), 2e-3);
    expect_scores(ours["correct_answers"], theirs["correct"], "correct " + std::to_string(q));
    expect_scores(ours["incorrect_answers"], theirs["incorrect"], "incorrect " + std::to_string(q));
    EXPECT_EQ(ours["mc1"].get<double>(), theirs["mc1"].get<double>()) << q;
    EXPECT_NEAR(ours["mc2"].get<double>(), theirs["mc2"].get<double>(), 1e-3) << q;
  }
}

TEST(EvalCommand, TruthfulQaBadInputExitsTwo) {
  auto dir = test::temp_dir("eval_truthfulqa_bad");
  auto model = test::tiny_policy(dir);
  test::write_text(dir + "/broken.csv",
                   "Type,Category,Question,Best Answer,Correct Answers,Incorrect Answers,Source\n"
                   "A,B,Q,x,x,y,s\nA,B,\"never closed,x,x,y,s\n");
  auto result = test::run_empo("eval --model " + model + " --truthfulqa " + dir + "/broken.csv");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("broken.csv:3:"), std::string::npos) << result.output;
  result = test::run_empo("eval --model " + model);  // nothing to evaluate
  EXPECT_EQ(result.exit_code, 2) << result.output;
  // As train_file, a CSV with a missing column stops training with file:line, exit 2.
  test::write_text(dir + "/columns.csv", "Type,Category,Question\nA,B,Q\n");
  auto config = test::write_config(dir, model, dir + "/columns.csv");
  result = test::run_empo("train --config " + config);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("columns.csv:1: missing column \"Best Answer\""), std::string::npos)
      << result.output;
}

TEST(EvalCommand, TruthfulQaJudgeDecisionsMatchTeacherForcedScores) {
  // The tiny random model answers and judges (one way: is the model's answer {b} equivalent to
  // the reference {a}?). Each decision is recomputed here without the batched judge: `empo
  // score` teacher-forces "prompt + Y" and "prompt + N" one by one. With the character
  // tokenizer P(Yes) pools 'Y' and ' ' (" Yes" starts with a space) and P(No) pools 'N' and
  // ' ', so the judge says yes exactly when log p(Y) > log p(N) after the prompt.
  auto dir = test::temp_dir("eval_truthfulqa_judge");
  auto model = test::tiny_policy(dir);
  const std::string csv = test::source_path("data/freeform/TruthfulQA.csv");
  test::write_text(dir + "/judge.txt", "{question}|{a}|{b}|");
  const int questions = 4;
  auto result = test::run_empo(
      "eval --model " + model + " --truthfulqa " + csv + " --limit " + std::to_string(questions) +
      " --judge " + model + " --judge-prompt " + dir +
      "/judge.txt --chat-format raw --max-new-tokens 8 --device cpu --output-dir " + dir + "/out");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("judged truthful"), std::string::npos) << result.output;
  auto records = test::read_jsonl(dir + "/out/truthfulqa.jsonl");
  ASSERT_EQ(records.size(), static_cast<size_t>(questions));
  // Every pair the model decides, as two teacher-forced texts.
  std::string score_input;
  struct Pair {
    size_t record;
    std::string list;
    size_t index;
  };
  std::vector<Pair> asked;
  for (size_t q = 0; q < records.size(); ++q) {
    const std::string answer = records[q]["answer"];
    for (const char* list : {"correct_answers", "incorrect_answers"})
      for (size_t k = 0; k < records[q][list].size(); ++k) {
        const std::string reference = records[q][list][k]["answer"];
        if (answer.empty() || answer == reference) continue;  // decided without the model
        const std::string prompt =
            records[q]["question"].get<std::string>() + "|" + reference + "|" + answer + "|";
        score_input += io::Json{{"text", prompt + "Y"}}.dump() + "\n";
        score_input += io::Json{{"text", prompt + "N"}}.dump() + "\n";
        asked.push_back({q, list, k});
      }
  }
  ASSERT_FALSE(asked.empty()) << "every greedy answer is empty";
  test::write_text(dir + "/pairs.jsonl", score_input);
  result = test::run_empo("score --model " + model + " --input " + dir + "/pairs.jsonl --output " +
                          dir + "/scores.jsonl --device cpu");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto scores = test::read_jsonl(dir + "/scores.jsonl");
  ASSERT_EQ(scores.size(), 2 * asked.size());
  std::vector<std::map<std::string, std::vector<bool>>> expected(records.size());
  for (size_t q = 0; q < records.size(); ++q)
    for (const char* list : {"correct_answers", "incorrect_answers"}) {
      const std::string answer = records[q]["answer"];
      for (const auto& reference : records[q][list])
        expected[q][list].push_back(!answer.empty() && answer == reference["answer"]);
    }
  int yes = 0;
  for (size_t i = 0; i < asked.size(); ++i) {
    const double log_y = scores[2 * i]["logprobs"].back().get<double>();
    const double log_n = scores[2 * i + 1]["logprobs"].back().get<double>();
    ASSERT_GT(std::abs(log_y - log_n), 1e-4) << "too close to call: " << i;
    expected[asked[i].record][asked[i].list][asked[i].index] = log_y > log_n;
    yes += log_y > log_n;
  }
  double truthful = 0;
  for (size_t q = 0; q < records.size(); ++q) {
    bool some_correct = false, some_incorrect = false;
    for (const char* list : {"correct_answers", "incorrect_answers"})
      for (size_t k = 0; k < records[q][list].size(); ++k) {
        const bool match = expected[q][list][k];
        EXPECT_EQ(records[q][list][k]["judge_match"].get<bool>(), match) << q << " " << list << k;
        (std::string(list) == "correct_answers" ? some_correct : some_incorrect) |= match;
      }
    EXPECT_EQ(records[q]["judge_truthful"].get<bool>(), some_correct && !some_incorrect) << q;
    truthful += some_correct && !some_incorrect;
  }
  auto summary = io::Json::parse(test::read_text(dir + "/out/summary.json"));
  EXPECT_NEAR(summary["truthfulqa/judge_truthful"].get<double>(), truthful / questions, 1e-12);
  EXPECT_TRUE(summary.contains("truthfulqa/mc1"));  // MC1/MC2 still come with the judge
  std::cout << yes << " of " << asked.size() << " judged pairs accepted\n";
}

TEST(EvalCommand, TruthfulQaHeldOutSplitIsTheHalfTrainingDoesNotSee) {
  auto dir = test::temp_dir("eval_truthfulqa_split");
  auto model = test::tiny_policy(dir);
  std::string csv = test::read_text(test::source_path("data/freeform/TruthfulQA.csv"));
  size_t end = 0;
  for (int line = 0; line < 7; ++line) end = csv.find('\n', end) + 1;  // header + 6 questions
  test::write_text(dir + "/six.csv", csv.substr(0, end));
  auto questions_of = [&](const std::string& flags) {
    auto result = test::run_empo("eval --model " + model + " --truthfulqa " + dir + "/six.csv " +
                                 flags + " --device cpu --output-dir " + dir + "/out");
    EXPECT_EQ(result.exit_code, 0) << result.output;
    std::vector<std::string> ids;
    for (const auto& record : test::read_jsonl(dir + "/out/truthfulqa.jsonl"))
      ids.push_back(record["id"]);
    return ids;
  };
  // The records start on lines 2, 3, 4, ...: the evaluated half is the 2nd, 4th and 6th.
  const std::vector<std::string> held_out = {"six:3", "six:5", "six:7"};
  EXPECT_EQ(questions_of("--truthfulqa-split held_out"), held_out);
  EXPECT_EQ(questions_of("").size(), 6u);  // test_time without a config
  // The recipe's config holds the other half out; its test_time override evaluates all.
  const std::string recipe = test::source_path("configs/qwen2.5-7b-instruct-empo-freeform.yaml");
  EXPECT_EQ(questions_of("--config " + recipe), held_out);
  EXPECT_EQ(questions_of("--config " + recipe + " --truthfulqa-split test_time").size(), 6u);
}

}  // namespace empo
