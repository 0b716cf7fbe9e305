// End to end: `empo generate` with ids, text and chat messages; bad input -> exit 2.
#include <gtest/gtest.h>

#include "empo/io/jsonl.h"
#include "tiny_policy.h"

namespace empo {

TEST(GenerateCommand, WritesOneLinePerSample) {
  auto dir = test::temp_dir("generate_cli");
  auto model = test::tiny_policy(dir);
  test::write_text(dir + "/in.jsonl",
                   "{\"prompt_ids\": [1, 2, 3]}\n{\"prompt\": \"12+34=\"}\n"
                   "{\"messages\": [{\"role\": \"user\", \"content\": \"1+1=\"}]}\n");
  auto result =
      test::run_empo("generate --model " + model + " --input " + dir + "/in.jsonl --output " + dir +
                     "/out.jsonl --n 2 --max-new-tokens 5 --seed 3");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("prompt 3/3"), std::string::npos) << result.output;  // progress
  std::vector<io::Json> lines;
  io::for_each_jsonl(dir + "/out.jsonl",
                     [&](const io::Json& line, long) { lines.push_back(line); });
  ASSERT_EQ(lines.size(), 6u);
  for (const auto& line : lines) {
    for (const char* key :
         {"index", "sample", "completion_ids", "completion", "logprobs", "finish_reason"})
      EXPECT_TRUE(line.contains(key)) << key;
    EXPECT_EQ(line["logprobs"].size(), line["completion_ids"].size());
  }
  EXPECT_EQ(lines[5]["index"], 2);
  EXPECT_EQ(lines[5]["sample"], 1);
  // The same seed gives the same samples; greedy gives identical samples.
  auto again =
      test::run_empo("generate --model " + model + " --input " + dir + "/in.jsonl --output " + dir +
                     "/again.jsonl --n 2 --max-new-tokens 5 --seed 3");
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_EQ(test::read_text(dir + "/out.jsonl"), test::read_text(dir + "/again.jsonl"));
}

TEST(GenerateCommand, StopStringsEndCompletions) {
  auto dir = test::temp_dir("generate_cli");
  test::write_text(dir + "/in.jsonl", "{\"prompt\": \"23+45+67+12=\"}\n");
  auto result =
      test::run_empo("generate --model " + test::source_path("models/adder") + " --input " + dir +
                     "/in.jsonl --output " + dir + "/out.jsonl --n 4 --seed 1 --stop ,");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("KV cache"), std::string::npos);
  io::for_each_jsonl(dir + "/out.jsonl", [&](const io::Json& line, long) {
    auto text = line["completion"].get<std::string>();
    // Stops at the first ',' (a reasoning step) or at '$' (the model's EOS, a direct answer).
    EXPECT_TRUE(text.back() == ',' || text.back() == '$') << text;
    if (text.back() == ',') {
      EXPECT_EQ(text.find(','), text.size() - 1) << text;
    }
    EXPECT_EQ(line["finish_reason"], "stop");
  });
}

TEST(GenerateCommand, BadInputExitsTwo) {
  auto dir = test::temp_dir("generate_cli");
  auto model = test::tiny_policy(dir);
  test::write_text(dir + "/in.jsonl", "{\"prompt_ids\": [1]}\n{\"prompt_ids\": [100000]}\n");
  auto result = test::run_empo("generate --model " + model + " --input " + dir +
                               "/in.jsonl --output " + dir + "/out.jsonl");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("in.jsonl:2"), std::string::npos) << result.output;
  result = test::run_empo("generate --model " + model + " --input " + dir + "/in.jsonl --output " +
                          dir + "/out.jsonl --top-p 3");
  EXPECT_EQ(result.exit_code, 2);
}

}  // namespace empo
