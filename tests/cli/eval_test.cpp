// End to end: `empo eval` on benchmark files (plain problem/answer and verl format).
#include <gtest/gtest.h>

#include <filesystem>

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

}  // namespace empo
